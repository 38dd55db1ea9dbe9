/**
 * The READMEs and docs/ARCHITECTURE.md say what the code is: every repository path they name exists, and each
 * package README's list of error codes is exactly the package's code list.
 *
 * Paths are found in two ways: a backticked token with a slash that names a file (an extension), a folder of the
 * repository (packages/…, node/…) or a package's folder (src/…/, test/…/), resolved against the repository root,
 * the README's folder or its src/ folder; and any
 * repository-rooted path (packages/…, node/…, test/…) anywhere in the text, commands in code blocks included.
 * A bare test file name (`scrub.test.ts`) must name a test file somewhere in the repository.
 *
 * A README's error-code list is a table whose first column is headed "code" (the codes of its first column) or
 * a paragraph that opens with a code (every code in it); "Every core code, plus" stands for core's list.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { CLIENT_ERROR_CODES } from '@healthchain/client'
import { CORE_ERROR_CODES } from '@healthchain/core'
import { LEDGER_ERROR_CODES } from '@healthchain/ledger'
import { NET_ERROR_CODES } from '@healthchain/net'
import { NODE_ERROR_CODES } from '../src/index.js'
import { CLI_ERROR_CODES } from '../src/cli/index.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

const documents = [
  'README.md',
  'packages/core/README.md',
  'packages/ledger/README.md',
  'packages/net/README.md',
  'packages/client/README.md',
  'node/README.md',
  'node/test/vectors/README.md',
  'packages/core/test/vectors/README.md',
  'docker/README.md',
  'docs/ARCHITECTURE.md'
]

/** Paths the documents name that are not files of this repository, each with where it is instead. */
const elsewhere: Record<string, string | null> = {
  'bench-results/': null, // written by npm run bench
  'bench-results/latest.json': null,
  'D/config.json': null, // a placeholder: the config file in the data directory D
  'index/index.sqlite': null, // in a node's data directory
  'src/*.ts': null, // every package's sources
  'lib/caps.js': 'node_modules/hypercore/lib/caps.js', // Hypercore's own source
  'lib/keys.js': 'node_modules/hypercore-storage/lib/keys.js'
}

const TOP = '(?:packages|node|test|scripts|docs|docker)'
const FILE = /\.(?:ts|mts|mjs|js|json|md|sh|yaml|yml|sqlite)$/

function read (doc: string): string {
  return readFileSync(join(root, doc), 'utf8')
}

/** Every repository path a document names, as written. */
function pathsNamed (text: string): string[] {
  const found = new Set<string>()
  for (const [, token] of text.matchAll(/`([^`\s]+)`/g)) {
    if (token === undefined || !token.includes('/') || /^(?:\.{0,2}\/|~|https?:|@)/.test(token)) continue
    if (!/^[\w.*-]+(?:\/[\w.*-]+)*\/?$/.test(token)) continue
    const rooted = new RegExp(`^${TOP}/`).test(token)
    if (FILE.test(token) || rooted || (token.endsWith('/') && /^(?:src|test)\//.test(token))) found.add(token)
  }
  for (const [, path] of text.matchAll(new RegExp(`(?<![\\w./@-])(${TOP}/[\\w./*-]*[\\w*])`, 'g'))) {
    if (path !== undefined && FILE.test(path)) found.add(path)
  }
  return [...found]
}

function exists (doc: string, path: string): boolean {
  const there = elsewhere[path]
  if (there !== undefined) return there === null || existsSync(join(root, there))
  // A glob (src/http/routes/*.ts) names a folder that must exist.
  const target = path.includes('*') ? path.slice(0, path.indexOf('*')) : path
  const base = dirname(doc)
  return [root, join(root, base), join(root, base, 'src')].some((dir) => existsSync(join(dir, target)))
}

function testFileNames (): Set<string> {
  const names = new Set<string>()
  for (const top of ['packages', 'node', 'test']) {
    for (const entry of readdirSync(join(root, top), { recursive: true, encoding: 'utf8' })) {
      if (!entry.includes('node_modules') && entry.endsWith('.test.ts')) names.add(basename(entry))
    }
  }
  return names
}

/** The section under the first heading that matches, up to the next heading of any level. */
function section (text: string, heading: RegExp): string {
  const lines = text.split('\n')
  const start = lines.findIndex((line) => /^#{1,6} /.test(line) && heading.test(line))
  if (start < 0) return ''
  const end = lines.findIndex((line, i) => i > start && /^#{1,6} /.test(line))
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n')
}

const CODE = /^[A-Z][A-Z0-9_]*$/

/** The error-code lists in a section, in order (see the file's comment for what counts as one). */
function codeLists (text: string): string[][] {
  const lists: string[][] = []
  for (const block of text.split(/\n\s*\n/).map((b) => b.trim())) {
    const lines = block.split('\n')
    if (/^\|\s*code\s*\|/.test(lines[0] ?? '')) {
      const codes = lines.slice(2).flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? ''))
      lists.push(codes)
      continue
    }
    const opening = /^`([^`]+)`/.exec(block)?.[1]
    const everyCore = block.startsWith('Every core code, plus')
    if (everyCore || (opening !== undefined && CODE.test(opening))) {
      const codes = [...block.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '').filter((c) => CODE.test(c))
      lists.push(everyCore ? [...CORE_ERROR_CODES, ...codes] : codes)
    }
  }
  return lists
}

const sorted = (codes: readonly string[]): string[] => [...codes].sort()

describe('the READMEs name what exists', () => {
  const names = testFileNames()

  for (const doc of documents) {
    it(`${doc}: every path it names exists`, () => {
      const text = read(doc)
      const missing = pathsNamed(text).filter((path) => !exists(doc, path))
      const unknownTests = [...text.matchAll(/(?<![\w/.-])([\w-]+\.test\.ts)/g)].map((m) => m[1] ?? '').filter((name) => !names.has(name))
      expect(missing).toEqual([])
      expect(unknownTests).toEqual([])
    })

    it(`${doc}: cites no design-document section, milestone or issue number`, () => {
      expect(read(doc)).not.toMatch(/DESIGN(?:\.md)?\s*§|(?<!RFC \d+ )§\s?\d|\bS[12]\b|(?<![\w&])#\d+\b/)
    })
  }

  const packages: Array<[doc: string, heading: RegExp, lists: Array<readonly string[]>]> = [
    ['packages/core/README.md', /^## Error codes/, [CORE_ERROR_CODES]],
    ['packages/ledger/README.md', /^## Error codes/, [LEDGER_ERROR_CODES]],
    ['packages/net/README.md', /^## Error codes/, [NET_ERROR_CODES]],
    ['packages/client/README.md', /^## Errors/, [CLIENT_ERROR_CODES]],
    ['node/README.md', /^## Error codes/, [NODE_ERROR_CODES, CLI_ERROR_CODES]]
  ]
  for (const [doc, heading, expected] of packages) {
    it(`${doc}: its error codes are exactly the package's code list`, () => {
      const lists = codeLists(section(read(doc), heading))
      expect(lists.map(sorted)).toEqual(expected.map(sorted))
    })
  }

  it('finds a path that does not exist, and a code list that is one short', () => {
    expect(pathsNamed('see `packages/net/test/no-such.test.ts` and `node/src/context.ts`')).toEqual([
      'packages/net/test/no-such.test.ts', 'node/src/context.ts'
    ])
    expect(exists('node/README.md', 'packages/net/test/no-such.test.ts')).toBe(false)
    expect(exists('node/README.md', 'node/src/context.ts')).toBe(true)
    expect(codeLists('`MALFORMED`, `TOO_LARGE` (with `field`).\n\n| code | meaning |\n|---|---|\n| `A` / `B` | `C` |')).toEqual([
      ['MALFORMED', 'TOO_LARGE'], ['A', 'B']
    ])
  })
})
