// A module resolve hook for running the repository's TypeScript sources
// (node/bin/healthchain.mjs registers it): it adds the `@healthchain/source`
// condition, under which every workspace package's exports name its sources.
export async function resolve (specifier, context, nextResolve) {
  return await nextResolve(specifier, { ...context, conditions: [...context.conditions, '@healthchain/source'] })
}
