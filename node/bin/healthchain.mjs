#!/usr/bin/env node
// The `healthchain` command. An installed release (npm package, container)
// runs the compiled CLI in dist/. A repository checkout, where the sources
// are, runs the TypeScript directly so that no build step stands between an
// edit and `npm start` (and a stale dist/ never shadows the sources): it
// registers tsx's loader in this process, and a resolve hook that picks the
// workspace packages' sources (their `@healthchain/source` export condition).
// Either way the CLI runs in this process, not a child, so signals (Ctrl-C)
// reach it. HEALTHCHAIN_RUN=dist runs the build in a checkout (to try it).
import { existsSync } from 'node:fs'
import { register } from 'node:module'

const source = new URL('../src/cli/main.ts', import.meta.url)
if (process.env.HEALTHCHAIN_RUN !== 'dist' && existsSync(source)) {
  const { register: registerTsx } = await import('tsx/esm/api')
  registerTsx()
  register('./source-condition.mjs', import.meta.url)
  await import(source.href)
} else {
  const built = new URL('../dist/cli/main.js', import.meta.url)
  if (!existsSync(built)) {
    process.stderr.write('error NOT_BUILT: this healthchain has no compiled CLI (dist/cli/main.js): run `npm run build` first\n')
    process.exit(1)
  }
  await import(built.href)
}
