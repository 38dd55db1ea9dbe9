/**
 * Light-peer catch-up benchmark: what a phone costs a custodian,
 * and what it gets from it.
 *
 * DEV DOCS — the flow:
 *
 *   set-up     a registry with two examiners; the custodian's ledger
 *              (hospital-a) holds the user's chain — a genesis and 1,000
 *              exercise entries the user signed (an hour's steps, distance,
 *              active energy and four heart-rate samples each) — and other
 *              users' chains (50 × 100 entries of the same kind), all built
 *              with the ledger before the node starts, so nothing is
 *              announced. Then the custodian's NetworkNode starts (libp2p
 *              over TCP on 127.0.0.1).
 *   a round    (a) a phone: PhoneClient on a fresh device directory, only
 *                  the phrase and the registry key; the clock runs from
 *                  `connect` to the end of `sync` (my-chain asks which chain
 *                  is the user's, block 0 is checked, the registry and 1,000
 *                  blocks are fetched and every entry re-verified).
 *              (b) a full replica: hospital-b's NetworkNode on a fresh
 *                  ledger (replicateAll off, so it fetches only this chain);
 *                  the clock runs from the dial to the end of fetchChain
 *                  (registry, 1,001 blocks, every entry re-verified).
 *              One warm-up round, then the rounds timed; medians reported.
 *   bytes      each of (a) and (b) dials the custodian through its own
 *              counting TCP relay on 127.0.0.1 (the multiaddr keeps the
 *              custodian's /p2p/ id; Noise runs end to end through it), so
 *              the counts are everything on the wire: TCP payload with
 *              Noise, yamux, multistream, identify, ping and Hypercore's own
 *              framing — measured the same way for both, without touching
 *              the libp2p stack or its stream bridge.
 *   isolation  after each phone round the device's Corestore is inventoried
 *              (every core its storage lists): blocks stored per core. Any
 *              core other than the registry and the user's own chain that
 *              the device did not write itself (the outbox and the ledger's
 *              local cores) must hold no block: the bytes of other users'
 *              chains that reached the phone. Once, after the timed rounds,
 *              a hostile phone also asks for another user's chain by key
 *              (the node never pairs it) and the same inventory is taken.
 *              Wire bytes per core are not split out (Hypercore multiplexes
 *              every core on one stream); the stored inventory plus the
 *              total on the wire bound them: data the phone never opened
 *              a core for is never accepted, and the wire total is compared
 *              with the size of what was asked for.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import {
  buildGenesis, buildUserEntry, equal, generatePartyKeys, newRecoveryPhrase, signEntry, userIdFromKey, userKeysFromPhrase,
  type Entry, type UserId, type UserKeys
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { Ledger } from '@healthchain/ledger'
import { LedgerConsortium, coreOf } from '@healthchain/ledger/testing'
import { NetworkNode } from '@healthchain/net'
import { makeParty as makeNetParty, type Party } from '@healthchain/net/testing'
import { LEDGER_DIR, PhoneClient, exercisePlain } from '@healthchain/client'
import { median, type Figure } from './measure.js'

const SECTION = 'light'
/** The phone's catch-up target: the user's 1,000 entries in under a second. */
const TARGET_MS = 1_000

export interface LightBenchOptions {
  readonly quick: boolean
  /** Progress lines (default: stderr). */
  readonly log?: (line: string) => void
}

interface Sizes { own: number, others: number, perOther: number, rounds: number, warmups: number }

const SIZES = {
  full: { own: 1_000, others: 50, perOther: 100, rounds: 5, warmups: 1 },
  quick: { own: 1_000, others: 10, perOther: 20, rounds: 3, warmups: 1 }
} as const satisfies Record<string, Sizes>

// ------------------------------------------------------------------ a counting relay

/** A TCP relay to one port that counts the bytes it carries each way: what a dialler sends and receives on the wire. */
class CountingRelay {
  /** Bytes from the target to the dialler (what the dialler received). */
  toDialler = 0
  /** Bytes from the dialler to the target. */
  fromDialler = 0
  private readonly sockets = new Set<Socket>()

  private constructor (private readonly server: Server, readonly port: number) {}

  static async start (targetPort: number): Promise<CountingRelay> {
    const server = createServer((inbound) => {
      // Connections arrive only once the server listens, after `relay` below is set.
      const r = relay
      const outbound = connect(targetPort, '127.0.0.1')
      // libp2p's TCP transport sets TCP_NODELAY on both ends; so does the relay, else Nagle holds small frames back.
      inbound.setNoDelay(true)
      outbound.setNoDelay(true)
      for (const s of [inbound, outbound]) {
        r.sockets.add(s)
        s.on('close', () => { r.sockets.delete(s) })
        s.on('error', () => { inbound.destroy(); outbound.destroy() })
      }
      inbound.on('data', (chunk: Buffer) => { r.fromDialler += chunk.byteLength })
      outbound.on('data', (chunk: Buffer) => { r.toDialler += chunk.byteLength })
      inbound.pipe(outbound)
      outbound.pipe(inbound)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    const relay = new CountingRelay(server, (server.address() as { port: number }).port)
    return relay
  }

  /** `target`'s multiaddr (…/tcp/<port>/p2p/<id>) with the relay's port. */
  addressFor (target: string): string {
    return target.replace(/\/tcp\/\d+\//, `/tcp/${this.port}/`)
  }

  async close (): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

// ------------------------------------------------------------------ the custodian

async function makeParty (id: string): Promise<Party> {
  return await makeNetParty(id, 'examiner')
}

interface Setup {
  readonly custodian: NetworkNode
  readonly custodianLedger: Ledger
  readonly replicaParty: Party
  readonly registryKey: Uint8Array
  readonly registryLength: number
  readonly phrase: string
  readonly user: UserKeys
  readonly chainKey: Uint8Array
  readonly chainLength: number
  /** Block bytes of the user's chain (its data, without Merkle proofs or framing). */
  readonly chainBytes: number
  readonly entryBytes: number
  /** One other user's chain, for the hostile ask. */
  readonly other: { readonly userId: UserId, readonly chainKey: Uint8Array }
  /** Block bytes of every other user's chain on the custodian: what a leak would have to carry. */
  readonly otherBytes: number
  readonly buildMs: number
}

/** `count` exercise entries the user signed for positions `from`…, an hour each, ending before now. */
function exerciseEntries (user: UserKeys, chainKey: Uint8Array, from: number, count: number): Entry[] {
  const hour = 3_600_000
  const end0 = Math.floor(Date.now() / hour) * hour - count * hour
  return Array.from({ length: count }, (_, i) => {
    const start = end0 + i * hour
    const end = start + hour
    const steps = 300 + ((i * 7919) % 4_000)
    const plain = exercisePlain({
      start,
      end,
      steps,
      distance: Math.round(steps * 0.74),
      activeEnergy: Math.round(steps * 0.045 * 10) / 10,
      heartRate: [0, 1, 2, 3].map((q) => ({ bpm: 68 + ((i + q * 13) % 50), time: start + q * 15 * 60_000 + 7 * 60_000 }))
    })
    return signEntry(buildUserEntry('exercise', plain, { time: end + 60_000 }, crypto), { chainKey, seq: from + i }, user.sign.secretKey, crypto)
  })
}

/** Enrols `user` at the custodian's ledger and appends `count` exercise entries. */
async function buildChain (ledger: Ledger, custodian: Party, user: UserKeys, count: number): Promise<Uint8Array> {
  const chainKey = await ledger.chainKeyFor(user.userId)
  const chain = await ledger.enrol(signEntry(buildGenesis(user, custodian.id, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto))
  const entries = exerciseEntries(user, chainKey, 1, count)
  for (let i = 0; i < entries.length; i += 500) {
    // Queued in one turn, so the chain appends them in batches, in order.
    await Promise.all(entries.slice(i, i + 500).map(async (entry, j) => await chain.append(entry, 1 + i + j)))
  }
  await chain.settled()
  return chainKey
}

async function blockBytes (core: Hypercore, start = 0): Promise<number> {
  let bytes = 0
  for (let i = start; i < core.length; i++) {
    if (!(await core.has(i))) continue
    bytes += (await core.get(i, { wait: false }))?.byteLength ?? 0
  }
  return bytes
}

async function setUp (dir: string, sizes: Sizes, log: (line: string) => void): Promise<Setup> {
  const t0 = performance.now()
  const [a, b] = [await makeParty('hospital-a'), await makeParty('hospital-b')]
  // The consortium harness admits both; the bench keeps hospital-a's ledger (and closes it) itself.
  const consortium = await LedgerConsortium.create({ parties: [a, b], name: 'Light-peer bench', dir, ledger: { crypto } })
  const ledger = await consortium.ledger(a.id)
  const registry = ledger.registry
  const phrase = newRecoveryPhrase()
  const user = userKeysFromPhrase(phrase, crypto)
  log(`building the user's chain (${sizes.own} exercise entries) and ${sizes.others} other users' chains (${sizes.perOther} entries each) …`)
  const chainKey = await buildChain(ledger, a, user, sizes.own)
  let other: Setup['other'] | undefined
  let otherBytes = 0
  for (let i = 0; i < sizes.others; i++) {
    // Random keys: deriving them from a phrase is deliberately slow and not what is measured.
    const keys = generatePartyKeys(crypto)
    const someone: UserKeys = { ...keys, userId: userIdFromKey(keys.sign.publicKey) }
    const key = await buildChain(ledger, a, someone, sizes.perOther)
    otherBytes += await blockBytes(coreOf(await ledger.chain(someone.userId)))
    other ??= { userId: someone.userId, chainKey: key }
  }
  const chain = await ledger.chain(user.userId)
  const chainBytes = await blockBytes(coreOf(chain))
  const entryBytes = (await coreOf(chain).get(1))!.byteLength
  const custodian = await NetworkNode.start({ ledger, privateKey: a.p2p, redialIntervalMs: 0 })
  const buildMs = performance.now() - t0
  log(`set-up in ${(buildMs / 1000).toFixed(1)} s: user's chain ${chain.length} blocks, ${chainBytes} bytes (${entryBytes} per entry); other chains ${otherBytes} bytes`)
  return {
    custodian,
    custodianLedger: ledger,
    replicaParty: b,
    registryKey: registry.key,
    registryLength: registry.length,
    phrase,
    user,
    chainKey,
    chainLength: chain.length,
    chainBytes,
    entryBytes,
    other: other!,
    otherBytes,
    buildMs
  }
}

// ------------------------------------------------------------------ (a) the phone

interface CoreInventory { readonly cores: number, readonly coresWithData: number, readonly blocks: number, readonly bytes: number }

interface DeviceInventory {
  readonly registry: CoreInventory
  readonly own: CoreInventory
  /** Cores the device did not write and that are neither the registry nor its own chain: other users' chains. */
  readonly foreign: CoreInventory
}

const NONE: CoreInventory = { cores: 0, coresWithData: 0, blocks: 0, bytes: 0 }

function add (a: CoreInventory, blocks: number, bytes: number): CoreInventory {
  return { cores: a.cores + 1, coresWithData: a.coresWithData + (blocks > 0 ? 1 : 0), blocks: a.blocks + blocks, bytes: a.bytes + bytes }
}

/** Every core the device's store lists, with the blocks it holds (the device closed first). */
async function inventory (ledgerDir: string, known: { registry: Uint8Array, chain: Uint8Array }): Promise<DeviceInventory> {
  const store = new Corestore(ledgerDir, { active: false })
  await store.ready()
  let inv: DeviceInventory = { registry: NONE, own: NONE, foreign: NONE }
  try {
    for await (const discoveryKey of store.list() as AsyncIterable<Uint8Array>) {
      const core = store.get({ discoveryKey, active: false })
      await core.ready()
      try {
        // The outbox and the ledger's own bookkeeping: cores this device writes, never fetched.
        if (core.writable) continue
        let blocks = 0
        for (let i = 0; i < core.length; i++) if (await core.has(i)) blocks++
        const bytes = await blockBytes(core)
        if (equal(core.key!, known.registry)) inv = { ...inv, registry: add(inv.registry, blocks, bytes) }
        else if (equal(core.key!, known.chain)) inv = { ...inv, own: add(inv.own, blocks, bytes) }
        else inv = { ...inv, foreign: add(inv.foreign, blocks, bytes) }
      } finally {
        await core.close()
      }
    }
  } finally {
    await store.close()
  }
  return inv
}

interface PhoneRun {
  openMs: number
  connectMs: number
  syncMs: number
  totalMs: number
  received: number
  sent: number
  inventory: DeviceInventory
  hostile?: { received: number, inventory: DeviceInventory }
}

async function phoneRound (s: Setup, dir: string, opts: { hostile: boolean }): Promise<PhoneRun> {
  const relay = await CountingRelay.start(Number(/\/tcp\/(\d+)\//.exec(s.custodian.addresses[0]!)![1]))
  const deviceDir = await mkdtemp(join(dir, 'device-'))
  try {
    const t0 = performance.now()
    const phone = await PhoneClient.open({
      dir: deviceDir, phrase: s.phrase, registryKey: s.registryKey, bootstrapPeers: [s.custodian.peerId], crypto, syncTimeoutMs: 120_000
    })
    let hostileReceived: number | undefined
    let run: Omit<PhoneRun, 'inventory'>
    try {
      const t1 = performance.now()
      await phone.connect(relay.addressFor(s.custodian.addresses[0]!))
      const t2 = performance.now()
      const report = await phone.sync()
      const t3 = performance.now()
      if (report.problem !== undefined || report.verifiedLength !== s.chainLength) {
        throw new Error(`bench: the phone did not verify the chain: ${report.verifiedLength}/${s.chainLength} ${JSON.stringify(report.problem)}`)
      }
      run = { openMs: t1 - t0, connectMs: t2 - t1, syncMs: t3 - t2, totalMs: t3 - t1, received: relay.toDialler, sent: relay.fromDialler }
      if (opts.hostile) {
        // Past the client's own refusal (NOT_OWN_CHAIN), straight through the light peer's replication: the node never pairs it.
        const before = relay.toDialler
        const asked = await phone.peer.replication.fetchChain(s.other.userId, s.other.chainKey, { timeoutMs: 1_000 })
        if (asked.chain.length !== 0) throw new Error('bench: a node served another user\'s chain to a light peer')
        hostileReceived = relay.toDialler - before
      }
    } finally {
      await phone.close()
    }
    const inv = await inventory(join(deviceDir, LEDGER_DIR), { registry: s.registryKey, chain: s.chainKey })
    return { ...run, inventory: inv, ...(hostileReceived === undefined ? {} : { hostile: { received: hostileReceived, inventory: inv } }) }
  } finally {
    await relay.close()
    await rm(deviceDir, { recursive: true, force: true })
  }
}

// ------------------------------------------------------------------ (b) a full replica

interface ReplicaRun { totalMs: number, received: number, sent: number }

async function replicaRound (s: Setup, dir: string, round: number): Promise<ReplicaRun> {
  const relay = await CountingRelay.start(Number(/\/tcp\/(\d+)\//.exec(s.custodian.addresses[0]!)![1]))
  const b = s.replicaParty
  const ledger = await Ledger.open({ dir: join(dir, `replica-${round}`), institution: b.id, crypto })
  let node: NetworkNode | undefined
  try {
    await ledger.followRegistry(s.registryKey)
    node = await NetworkNode.start({ ledger, privateKey: b.p2p, bootstrapPeers: [s.custodian.peerId], replicateAll: false, redialIntervalMs: 0 })
    const t0 = performance.now()
    await node.dial(relay.addressFor(s.custodian.addresses[0]!))
    // What a phone's sync does first too: the registry (every author is checked against it).
    while (ledger.registry.length < s.registryLength) await new Promise((resolve) => setTimeout(resolve, 1))
    const { chain, ingest } = await node.replication.fetchChain(s.user.userId, s.chainKey, { length: s.chainLength, timeoutMs: 120_000 })
    const totalMs = performance.now() - t0
    if (ingest.problem !== undefined || chain.verifiedLength !== s.chainLength) throw new Error(`bench: the replica did not verify the chain: ${JSON.stringify(ingest.problem)}`)
    return { totalMs, received: relay.toDialler, sent: relay.fromDialler }
  } finally {
    await node?.stop()
    await ledger.close()
    await relay.close()
  }
}

// ------------------------------------------------------------------

/**
 * The light-peer catch-up figures: a phone's connect + sync of the user's
 * 1,000 entries (time, bytes on the wire) beside a full replica fetching the
 * same chain, and the bytes of other users' chains that reached the phone.
 */
export async function benchLightCatchUp (opts: LightBenchOptions): Promise<Figure[]> {
  const sizes: Sizes = opts.quick ? SIZES.quick : SIZES.full
  const log = opts.log ?? ((line: string) => { process.stderr.write(`  light: ${line}\n`) })
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-light-bench-'))
  const load = loadavg()[0]!
  let s: Setup | undefined
  try {
    s = await setUp(dir, sizes, log)
    const phones: PhoneRun[] = []
    const replicas: ReplicaRun[] = []
    for (let round = 0; round < sizes.warmups + sizes.rounds; round++) {
      // In turns, so both see the same load on a shared machine.
      const p = await phoneRound(s, dir, { hostile: false })
      const r = await replicaRound(s, dir, round)
      log(`round ${round + 1}${round < sizes.warmups ? ' (warm-up)' : ''}: phone ${p.totalMs.toFixed(0)} ms, ${p.received} bytes in; full replica ${r.totalMs.toFixed(0)} ms, ${r.received} bytes in`)
      if (round < sizes.warmups) continue
      phones.push(p)
      replicas.push(r)
    }
    log('a hostile phone asks for another user\'s chain by key …')
    const hostile = (await phoneRound(s, dir, { hostile: true })).hostile!

    const m = (pick: (r: PhoneRun) => number): number => median(phones.map(pick))
    const phoneMs = m((r) => r.totalMs)
    const replicaMs = median(replicas.map((r) => r.totalMs))
    const phoneIn = m((r) => r.received)
    const replicaIn = median(replicas.map((r) => r.received))
    const foreignBytes = Math.max(...phones.map((r) => r.inventory.foreign.bytes), hostile.inventory.foreign.bytes)
    const foreignCores = Math.max(...phones.map((r) => r.inventory.foreign.coresWithData), hostile.inventory.foreign.coresWithData)
    const own = phones[0]!.inventory.own
    const registry = phones[0]!.inventory.registry
    const n = s.chainLength - 1
    const others = `${sizes.others} × ${sizes.perOther}`
    return [
      { section: SECTION, name: 'machine load average (1 min) at start', value: load, unit: '' },
      { section: SECTION, name: `set-up: custodian with the user's ${n} entries + ${others} other users' entries (not measured)`, value: s.buildMs / 1000, unit: 's' },
      { section: SECTION, name: 'exercise entry size (one block)', value: s.entryBytes, unit: 'bytes' },
      { section: SECTION, name: `user's chain: block bytes (${s.chainLength} blocks)`, value: s.chainBytes, unit: 'bytes' },
      { section: SECTION, name: `other users' chains on the custodian: block bytes (${others})`, value: s.otherBytes, unit: 'bytes' },
      { section: SECTION, name: 'phone: open a fresh device (keys from the phrase, store, libp2p host; not in the catch-up)', value: m((r) => r.openMs), unit: 'ms' },
      { section: SECTION, name: 'phone: connect (TCP, Noise, yamux, identify)', value: m((r) => r.connectMs), unit: 'ms' },
      { section: SECTION, name: `phone: sync ${n} entries (find chain, check block 0, registry, fetch, re-verify)`, value: m((r) => r.syncMs), unit: 'ms' },
      {
        section: SECTION,
        name: `phone: catch-up, connect + sync of ${n} entries (median of ${sizes.rounds})`,
        value: phoneMs,
        unit: 'ms',
        ratio: { against: `${TARGET_MS} ms target (target/time)`, value: TARGET_MS / phoneMs, target: 1 }
      },
      { section: SECTION, name: 'phone: bytes received on the wire (counting relay)', value: phoneIn, unit: 'bytes', ratio: { against: 'block bytes of its chain + registry', value: phoneIn / (own.bytes + registry.bytes) } },
      { section: SECTION, name: 'phone: bytes sent on the wire', value: m((r) => r.sent), unit: 'bytes' },
      { section: SECTION, name: 'phone: blocks stored of its own chain', value: own.blocks, unit: 'blocks' },
      { section: SECTION, name: 'phone: blocks stored of the registry', value: registry.blocks, unit: 'blocks' },
      {
        section: SECTION,
        name: `full replica (NetworkNode): dial + registry + fetchChain of ${n} entries (median of ${sizes.rounds})`,
        value: replicaMs,
        unit: 'ms',
        ratio: { against: 'phone catch-up time (replica/phone)', value: replicaMs / phoneMs }
      },
      { section: SECTION, name: 'full replica: bytes received on the wire (counting relay)', value: replicaIn, unit: 'bytes', ratio: { against: 'phone\'s bytes received (replica/phone)', value: replicaIn / phoneIn } },
      { section: SECTION, name: 'full replica: bytes sent on the wire', value: median(replicas.map((r) => r.sent)), unit: 'bytes' },
      { section: SECTION, name: 'bytes of other users\' chains stored on the phone, every round and a hostile ask (target 0)', value: foreignBytes, unit: 'bytes' },
      { section: SECTION, name: 'cores of other users\' chains with any block on the phone (target 0)', value: foreignCores, unit: 'cores' },
      { section: SECTION, name: 'hostile ask for another user\'s chain (1 s): bytes received on the wire meanwhile', value: hostile.received, unit: 'bytes' }
    ]
  } finally {
    await s?.custodian.stop().catch(() => {})
    await s?.custodianLedger.close().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
}
