/**
 * The linter and formatter the codebase passes (`npm run lint`, run by
 * `npm test` after the type check and before the tests; `npm run lint --
 * --fix` formats).
 *
 * neostandard is the "standard" style (no semicolons, single quotes, a space
 * before function parentheses) for TypeScript, as js-libp2p uses; the few
 * rules below are where this codebase differs on purpose.
 */
import neostandard from 'neostandard'

const IGNORED = ['**/node_modules/**', '**/dist/**', '**/.vite/**']

export default [
  // A global ignore (an object with only `ignores`): built bundles such as console/dist are never linted by any block below.
  { ignores: IGNORED },
  ...neostandard({ ts: true, ignores: IGNORED }),
  {
    rules: {
      // `void promise` marks a promise deliberately left to run (its errors are handled where it is made).
      'no-void': ['error', { allowAsStatement: true }],
      // Long lines hide what a diff changed; URLs and test names may run past.
      '@stylistic/max-len': ['error', {
        code: 160, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreComments: false
      }]
    }
  }
]
