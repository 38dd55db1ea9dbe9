/**
 * Compares two V8 heap snapshots (.heapsnapshot, as `npm run soak --
 * --heap-snapshots` writes them): objects grouped by constructor (or, for
 * strings, arrays, closures and the like, by their kind and name), with
 * the count and self size of each in A and in B, the groups that grew most
 * first. Self size only: what a group retains is not summed.
 *
 *   npx tsx scripts/soak/heap-diff.ts A.heapsnapshot B.heapsnapshot [--top 30]
 *   npx tsx scripts/soak/heap-diff.ts A.heapsnapshot        (one snapshot: its largest groups)
 *
 * A large snapshot needs a large heap to parse: run it with
 * NODE_OPTIONS=--max-old-space-size=8192 if it runs out.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: string[], readonly node_types: [string[], ...unknown[]] } }
  readonly nodes: number[]
  readonly strings: string[]
}

interface Group { count: number, size: number }

/** Count and self size per group of one snapshot. */
function groups (file: string): Map<string, Group> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot
  const fields = snap.snapshot.meta.node_fields
  const types = snap.snapshot.meta.node_types[0]
  const width = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const out = new Map<string, Group>()
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!
    const name = snap.strings[snap.nodes[i + nameAt]!]!
    // A string's name is its text: grouped by kind only. Objects by constructor, the rest by kind and name.
    const key = type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number'
      ? `(${type})`
      : type === 'object' ? name : `(${type}) ${name.slice(0, 60)}`
    const g = out.get(key) ?? { count: 0, size: 0 }
    g.count++
    g.size += snap.nodes[i + sizeAt]!
    out.set(key, g)
  }
  return out
}

const USAGE = 'Usage: npx tsx scripts/soak/heap-diff.ts A.heapsnapshot [B.heapsnapshot] [--top 30]'
let parsed: { values: { top: string }, positionals: string[] }
try {
  parsed = parseArgs({ options: { top: { type: 'string', default: '30' } }, allowPositionals: true })
} catch (err) {
  console.error(`error USAGE: ${(err as Error).message}\n${USAGE}`)
  process.exit(2)
}
const [a, b] = parsed.positionals
const top = Number(parsed.values.top)
if (a === undefined || !Number.isInteger(top) || top < 1) {
  console.error(USAGE)
  process.exit(2)
}
// One snapshot: compared with nothing, so its largest groups come first.
const before = b === undefined ? new Map<string, Group>() : groups(a)
const after = groups(b ?? a)
const total = (m: Map<string, Group>): number => [...m.values()].reduce((s, g) => s + g.size, 0)
const rows = [...new Set([...before.keys(), ...after.keys()])].map((key) => {
  const x = before.get(key) ?? { count: 0, size: 0 }
  const y = after.get(key) ?? { count: 0, size: 0 }
  return { key, count: [x.count, y.count], size: [x.size, y.size], grew: y.size - x.size }
}).sort((p, q) => q.grew - p.grew).slice(0, top)
const kb = (n: number): string => (n / 1024).toFixed(0)
console.log(`self size: A ${kb(total(before))} KB, B ${kb(total(after))} KB`)
console.log(['grew KB', 'A KB', 'B KB', 'A count', 'B count', 'group'].map((h) => h.padStart(10)).join(' '))
for (const r of rows) {
  console.log([kb(r.grew), kb(r.size[0]!), kb(r.size[1]!), String(r.count[0]), String(r.count[1])].map((c) => c.padStart(10)).join(' ') + '  ' + r.key)
}
