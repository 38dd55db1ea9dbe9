/**
 * Child process of net-bench.ts (part 3: a node holding many chains), so the
 * memory figure is the node's own.
 *
 *   tsx net-holder.ts build <dir> <count>    builds a ledger of <count> minimal chains (a genesis each) in <dir>
 *   tsx net-holder.ts prepare <dir>          opens and closes it once: a store built before the catalog checkpoint gets one
 *   tsx net-holder.ts measure <dir>          opens it, starts a NetworkNode, reports memory and head-handling times
 *
 * HOLDER_STORAGE (JSON) adds options to the store's RocksDB storage (hypercore-storage's: `blockCache`,
 * `maxOpenFiles`, `optimizeFiltersForMemory`, …), to measure what they do to its memory.
 *
 * The last stdout line is the JSON result; progress goes to stderr.
 * `measure` wants `--expose-gc` (memory after a full GC).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import Hypercore from 'hypercore'
import {
  buildGenesis, bytesToHex, generatePartyKeys, signEntry, userIdFromKey,
  type InstitutionId, type UserKeys
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { Ledger } from '@healthchain/ledger'
import { LedgerConsortium, makeInstitution } from '@healthchain/ledger/testing'
import { NetworkNode, decodeHeadsAnnouncement, encodeHeadsAnnouncement, headOf } from '@healthchain/net'

const INSTITUTION = 'hospital-a' as InstitutionId
/** Heads kept for the measurement: chains spread over the whole store. */
const SAMPLES = 300
/** Chains enrolled at once: their catalog records go in one append (a group commit), their cores' writes overlap. */
const BATCH = 200

export interface BuildMeta { readonly count: number, readonly buildMs: number, readonly date: string }
export interface HolderResult {
  readonly chains: number
  /** The catalog length its checkpoint covered at open (0: the catalog was read in full). */
  readonly catalogCheckpointLength: number
  readonly openLedgerMs: number
  readonly startNodeMs: number
  /** From the start until the head log held every chain's stored head (seeded in the background). */
  readonly seedLogMs: number
  /** After a full GC (if exposed): before the ledger opens, and once it is open (before the node starts). */
  readonly rssBeforeOpenBytes: number
  readonly rssOpenBytes: number
  /** After a full GC (if exposed): ledger open, node started, no chain open. */
  readonly rssIdleBytes: number
  readonly heapUsedIdleBytes: number
  /** Memory of C++ objects tied to JS ones (array buffers included): with RSS − heap, where the rest of the memory is. */
  readonly externalIdleBytes: number
  /**
   * Decode + receive of a one-head announcement, the first for its chain since start. It carries the chain's
   * stored head, which the head log was seeded with: recognised, neither verified nor opened — what most of a
   * peer's heads-sync after a restart is.
   */
  readonly handleColdMs: number[]
  /** The same announcement again. */
  readonly handleWarmMs: number[]
  readonly rssAfterBytes: number
  readonly gcExposed: boolean
}

function log (msg: string): void { process.stderr.write(`  [holder ${process.pid}] ${msg}\n`) }

function cheapUserKeys (): UserKeys {
  // Random keys: deriving from a recovery phrase is deliberately slow, and irrelevant here.
  const keys = generatePartyKeys(crypto)
  return { ...keys, userId: userIdFromKey(keys.sign.publicKey) }
}

async function build (dir: string, count: number): Promise<void> {
  const started = Date.now()
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  // The consortium harness admits the institution into a fresh registry; the build closes the ledger itself.
  const consortium = await LedgerConsortium.create({
    parties: [makeInstitution(INSTITUTION, 'examiner')],
    name: 'Bench consortium',
    dir,
    ledgerDir: () => join(dir, 'ledger'),
    ledger: { crypto, verifyWorkers: 0 }
  })
  const ledger = await consortium.ledger(INSTITUTION)
  const every = Math.max(1, Math.floor(count / SAMPLES))
  const announcements: string[] = []
  let lastLog = Date.now()
  for (let base = 0; base < count; base += BATCH) {
    const n = Math.min(BATCH, count - base)
    await Promise.all(Array.from({ length: n }, async (_, j) => {
      const i = base + j
      const user = cheapUserKeys()
      const chainKey = await ledger.chainKeyFor(user.userId)
      const genesis = signEntry(buildGenesis(user, INSTITUTION, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto)
      const chain = await ledger.enrol(genesis)
      if (i % every === 0 && announcements.length < SAMPLES) {
        announcements.push(bytesToHex(encodeHeadsAnnouncement({ v: 1, heads: [await headOf(chain, crypto)] })))
      }
      // Keep the build's own memory flat: an open core costs 21-31 KB.
      await chain.close()
    }))
    if (Date.now() - lastLog > 5000 || base + n === count) {
      lastLog = Date.now()
      const s = (Date.now() - started) / 1000
      const rate = (base + n) / s
      log(`built ${base + n}/${count} chains in ${s.toFixed(0)} s (${rate.toFixed(0)}/s, about ${((count - base - n) / rate / 60).toFixed(1)} min left)`)
    }
  }
  await ledger.close()
  const meta: BuildMeta = { count, buildMs: Date.now() - started, date: new Date().toISOString() }
  await writeFile(join(dir, 'announcements.json'), JSON.stringify(announcements))
  // Written last: a cache without meta.json is incomplete and is rebuilt.
  await writeFile(join(dir, 'meta.json'), JSON.stringify(meta))
  console.log(JSON.stringify(meta))
}

function gc (): void {
  const g = (globalThis as { gc?: () => void }).gc
  if (g !== undefined) { g(); g() }
}

/** Extra storage options from HOLDER_STORAGE, handed to every RocksDB storage the process opens. */
function withStorageOptions (): void {
  const extra = process.env.HOLDER_STORAGE
  if (extra === undefined || extra === '') return
  const opts = JSON.parse(extra) as Record<string, unknown>
  log(`storage options ${JSON.stringify(opts)}`)
  const original = Hypercore.defaultStorage.bind(Hypercore)
  Hypercore.defaultStorage = (directory, given = {}) => original(directory, { ...given, ...opts })
}

async function prepare (dir: string): Promise<void> {
  const t = performance.now()
  const ledger = await Ledger.open({ dir: join(dir, 'ledger'), institution: INSTITUTION, crypto, warn: log })
  await ledger.close()
  log(`opened and closed in ${(performance.now() - t).toFixed(0)} ms`)
  console.log(JSON.stringify({ prepared: true }))
}

async function measure (dir: string): Promise<void> {
  withStorageOptions()
  const announcements = (JSON.parse(await readFile(join(dir, 'announcements.json'), 'utf8')) as string[]).map((hex) => new Uint8Array(Buffer.from(hex, 'hex')))
  gc()
  const rssBeforeOpenBytes = process.memoryUsage().rss
  let t = performance.now()
  const ledger = await Ledger.open({ dir: join(dir, 'ledger'), institution: INSTITUTION, crypto, warn: log })
  const openLedgerMs = performance.now() - t
  const catalogCheckpointLength = ledger.catalogCheckpointLength
  gc()
  const rssOpenBytes = process.memoryUsage().rss
  t = performance.now()
  const node = await NetworkNode.start({ ledger, privateKey: await generateKeyPair('Ed25519'), replicateAll: true })
  const startNodeMs = performance.now() - t
  await node.heads.seeded
  const seedLogMs = performance.now() - t
  await new Promise((resolve) => setTimeout(resolve, 500))
  gc()
  const idle = process.memoryUsage()
  log(`${ledger.chainCount} chains: ledger opened in ${openLedgerMs.toFixed(0)} ms, rss ${(idle.rss / 2 ** 20).toFixed(0)} MiB`)
  const handle = async (bytes: Uint8Array): Promise<number> => {
    const start = performance.now()
    await node.heads.receive(decodeHeadsAnnouncement(bytes).heads)
    return performance.now() - start
  }
  const handleColdMs: number[] = []
  const handleWarmMs: number[] = []
  for (const a of announcements) handleColdMs.push(await handle(a))
  for (const a of announcements) handleWarmMs.push(await handle(a))
  const { stats } = node.heads
  if (stats.invalid > 0 || stats.errors > 0 || stats.received !== 2 * announcements.length) {
    throw new Error(`bench: heads not handled cleanly: ${JSON.stringify({ ...stats, fetch: undefined, sync: undefined })}`)
  }
  gc()
  const rssAfterBytes = process.memoryUsage().rss
  const result: HolderResult = {
    chains: ledger.chainCount,
    catalogCheckpointLength,
    openLedgerMs,
    startNodeMs,
    seedLogMs,
    rssBeforeOpenBytes,
    rssOpenBytes,
    rssIdleBytes: idle.rss,
    heapUsedIdleBytes: idle.heapUsed,
    externalIdleBytes: idle.external,
    handleColdMs,
    handleWarmMs,
    rssAfterBytes,
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function'
  }
  await node.stop()
  await ledger.close()
  console.log(JSON.stringify(result))
}

const [mode, dir, count] = process.argv.slice(2)
const modes: Record<string, () => Promise<void>> = {
  build: async () => { await build(dir!, Number(count)) },
  prepare: async () => { await prepare(dir!) },
  measure: async () => { await measure(dir!) }
}
const run = modes[mode ?? ''] ?? (async () => { throw new Error('usage: net-holder.ts build|prepare|measure <dir> [count]') })
run().then(() => { process.exit(0) }, (err) => {
  console.error(String((err as Error)?.stack ?? err).slice(0, 2000))
  process.exit(1)
})
