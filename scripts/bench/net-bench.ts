/**
 * Network benchmarks: real NetworkNodes on 127.0.0.1 (libp2p over
 * TCP, Corestores on disk), all nodes of a part in this one process unless
 * said otherwise:
 * 1. propagation: one entry from its custodian's append returning until every
 *    other node of a 5-node full mesh has ingested it (verifiedLength), one
 *    entry at a time; p50 and p99. Target: p99 < 50 ms.
 * 2. replication throughput of one chain between two nodes over libp2p
 *    (Replication.fetchChain), transfer only and transfer + ingest, beside raw
 *    Hypercore replication of the same blocks over a plain TCP socket,
 *    measured in turns. Targets: transfer only >= 0.9x TCP, transfer + ingest
 *    (every block re-verified: signatures on the replica's verification
 *    workers while later blocks transfer) >= 0.7x TCP. Both clocks run
 *    from the same point (the encrypted session is up, the core is open and
 *    not yet attached) to the same event (the last block stored).
 * 3. a node holding many chains (a child process, net-holder.ts): resident
 *    memory, start-up, and the time to handle a head announcement for a
 *    chain it holds, at 1,000, 100,000 and 1,000,000 chains (`--quick`:
 *    1,000 and 10,000), three runs each, medians. Targets at 1,000,000:
 *    idle rss under 1 GiB, start-up (open the ledger + start the node)
 *    under 5 s, and no dependence on the number of chains (the 1,000-chain
 *    time / the 1,000,000-chain time >= 0.8). The chains (a genesis each)
 *    are built once and cached under bench-results/net-chains-<count>/
 *    (1,000,000 take an hour or more to build on two cores, and about 5 GB of disk).
 */
import { benchExamPlain, benchExamSealed } from './fixtures.js'
import { spawn } from 'node:child_process'
import { access, mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import {
  buildExam, buildGenesis, generatePartyKeys, signEntry, userIdFromKey,
  type InstitutionId, type InstitutionRole, type UserKeys
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { Ledger, type RegistryFeed, type UserChain } from '@healthchain/ledger'
import { LedgerConsortium, coreOf } from '@healthchain/ledger/testing'
import { FORKS_TOPIC, HEADS_TOPIC, NetworkNode } from '@healthchain/net'
import { makeParty, type Party } from '@healthchain/net/testing'
import { median, type Figure } from './measure.js'
import { profiled } from './profile.js'
import type { BuildMeta, HolderResult } from './net-holder.js'

const SECTION = 'net'
const HERE = fileURLToPath(new URL('.', import.meta.url))

const plain = benchExamPlain
const sealed = benchExamSealed

function progress (msg: string): void { process.stderr.write(`  net: ${msg}\n`) }

function percentile (values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

async function waitFor (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function cheapUserKeys (): UserKeys {
  // Random keys: deriving them from a recovery phrase is deliberately slow and not what is measured.
  const keys = generatePartyKeys(crypto)
  return { ...keys, userId: userIdFromKey(keys.sign.publicKey) }
}

// ------------------------------------------------------------------ a consortium of real nodes

/** Parties admitted in one registry (created in the first party's ledger); nodes started on demand, all in `dir`. */
class BenchNet {
  readonly nodes = new Map<string, NetworkNode>()
  readonly ledgers = new Map<string, Ledger>()

  private constructor (readonly dir: string, readonly parties: Party[], readonly registry: RegistryFeed) {}

  static async create (dir: string, specs: Array<[string, InstitutionRole]>): Promise<BenchNet> {
    const parties = await Promise.all(specs.map(async ([id, role]) => await makeParty(id, role)))
    // The consortium harness admits them; the bench then keeps the ledgers (and closes them) itself.
    const consortium = await LedgerConsortium.create({ parties, name: 'Network bench', dir, ledger: { crypto } })
    const first = await consortium.ledger(parties[0]!.id)
    const registry = first.registry
    const net = new BenchNet(dir, parties, registry)
    net.ledgers.set(parties[0]!.id, first)
    return net
  }

  party (id: string): Party { return this.parties.find((p) => p.id === id)! }

  /** Starts a party's node (a fresh ledger under `ledgerDir`, default its id), connects it to every running node. */
  async start (id: string, opts: { ledgerDir?: string, replicateAll?: boolean } = {}): Promise<NetworkNode> {
    let ledger = this.ledgers.get(id)
    if (ledger === undefined) {
      ledger = await Ledger.open({ dir: join(this.dir, opts.ledgerDir ?? id), institution: id as InstitutionId, crypto })
      await ledger.followRegistry(this.registry.key)
      this.ledgers.set(id, ledger)
    }
    const first = this.parties[0]!
    const node = await NetworkNode.start({ ledger, privateKey: this.party(id).p2p, bootstrapPeers: [first.peer], replicateAll: opts.replicateAll })
    const others = [...this.nodes.values()]
    this.nodes.set(id, node)
    const bootstrap = others.find((o) => o.peerId === first.peer)
    if (bootstrap !== undefined) await node.dial(bootstrap.addresses[0]!)
    const l = ledger
    await waitFor(() => l.registry.length === this.registry.length, `${id} to receive the registry`)
    for (const other of others) if (other !== bootstrap) await node.dial(other.addresses[0]!)
    await waitFor(() => others.every((o) => node.replication.peers.includes(o.peerId)), `${id}'s replication channels`)
    return node
  }

  /** Stops a party's node and closes its ledger. */
  async stop (id: string): Promise<void> {
    await this.nodes.get(id)?.stop()
    this.nodes.delete(id)
    await this.ledgers.get(id)?.close()
    this.ledgers.delete(id)
  }

  async meshed (): Promise<void> {
    const nodes = [...this.nodes.values()]
    await waitFor(() => nodes.every((n) => [HEADS_TOPIC, FORKS_TOPIC].every((topic) => {
      const subscribers = n.host.services.pubsub.getSubscribers(topic).map(String)
      return nodes.every((o) => o === n || subscribers.includes(o.peerId))
    })), 'gossip subscriptions to reach every node')
  }

  async close (): Promise<void> {
    for (const id of [...this.nodes.keys()].reverse()) await this.nodes.get(id)!.stop().catch(() => {})
    this.nodes.clear()
    for (const ledger of this.ledgers.values()) await ledger.close().catch(() => {})
    this.ledgers.clear()
  }
}

function examFor (chain: UserChain, author: Party, reg: number): ReturnType<typeof buildExam> {
  return buildExam({ author: author.id, reg, chainKey: chain.key, plain, sealed, recipients: chain.examRecipients(author.keys.box.publicKey) }, crypto)
}

// ------------------------------------------------------------------ 1. propagation latency

async function propagation (dir: string, entries: number): Promise<Figure[]> {
  const net = await BenchNet.create(dir, [['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['hospital-c', 'examiner'], ['agency-q', 'inquirer'], ['regulator-r', 'regulator']])
  try {
    for (const p of net.parties) await net.start(p.id)
    await net.meshed()
    const a = net.party('hospital-a')
    const custodian = net.nodes.get(a.id)!
    const replicas = [...net.nodes.values()].filter((n) => n !== custodian)
    const user = cheapUserKeys()
    const chainKey = await custodian.ledger.chainKeyFor(user.userId)
    const chain = await custodian.enrol(signEntry(buildGenesis(user, a.id, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto))
    await waitFor(async () => (await Promise.all(replicas.map(async (n) => n.ledger.hasChain(user.userId) && (await n.ledger.chain(user.userId)).verifiedLength === 1))).every(Boolean), 'every node to replicate the new chain')

    // When each position became verified at each replica: recorded right after the ingest that folded it.
    const reached = replicas.map(() => new Map<number, number>())
    for (const [i, node] of replicas.entries()) {
      const replica = await node.ledger.chain(user.userId)
      const ingest = replica.ingest.bind(replica)
      let recorded = replica.verifiedLength
      replica.ingest = async () => {
        const result = await ingest()
        const now = performance.now()
        for (; recorded < replica.verifiedLength; recorded++) reached[i]!.set(recorded, now)
        return result
      }
    }
    const perNode: number[] = []
    const slowest: number[] = []
    const reg = custodian.ledger.registry.length
    progress(`propagation: ${entries} entries through a 5-node mesh, one at a time …`)
    for (let n = 0; n < entries; n++) {
      const exam = examFor(chain, a, reg)
      const { seq } = await custodian.append(user.userId, (at) => signEntry(exam, { chainKey, seq: at }, a.keys.sign.secretKey, crypto))
      const t0 = performance.now()
      const deadline = Date.now() + 10_000
      while (!reached.every((m) => m.has(seq))) {
        if (Date.now() > deadline) throw new Error(`bench: entry ${seq} did not reach every node within 10 s`)
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
      const lat = reached.map((m) => Math.max(0, m.get(seq)! - t0))
      perNode.push(...lat)
      slowest.push(Math.max(...lat))
    }
    const target = 50
    const p99All = percentile(slowest, 99)
    return [
      { section: SECTION, name: `propagation to one node, p50 (5-node mesh, one process, ${entries} entries)`, value: percentile(perNode, 50), unit: 'ms' },
      { section: SECTION, name: 'propagation to one node, p99', value: percentile(perNode, 99), unit: 'ms' },
      { section: SECTION, name: 'propagation to every node, p50', value: percentile(slowest, 50), unit: 'ms' },
      { section: SECTION, name: 'propagation to every node, p99', value: p99All, unit: 'ms', ratio: { against: `${target} ms target (target/p99)`, value: target / p99All, target: 1 } }
    ]
  } finally {
    await net.close()
  }
}

// ------------------------------------------------------------------ 2. replication throughput

/** When `core` has stored its first `length` blocks (performance.now()): where both sides stop the transfer clock. */
async function completion (core: Hypercore, length: number): Promise<number> {
  return await new Promise((resolve) => {
    const check = (): void => {
      if (core.contiguousLength < length) return
      core.off('download', check)
      resolve(performance.now())
    }
    core.on('download', check)
  })
}

async function throughput (dir: string, count: number, rounds: { repeats: number, warmups: number }): Promise<Figure[]> {
  const net = await BenchNet.create(dir, [['hospital-a', 'examiner'], ['hospital-b', 'examiner']])
  const servers: Server[] = []
  const rawStores: Corestore[] = []
  try {
    const a = net.party('hospital-a')
    // The chain is built with the ledger directly: nothing is announced, so nobody fetches it before the clock starts.
    const ledgerA = net.ledgers.get(a.id)!
    const user = cheapUserKeys()
    const chainKey = await ledgerA.chainKeyFor(user.userId)
    const chain = await ledgerA.enrol(signEntry(buildGenesis(user, a.id, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto))
    let t = Date.now()
    progress(`throughput: building a chain of ${count} sealed exams …`)
    for (let i = 0; i < count; i += 500) {
      await Promise.all(Array.from(
        { length: Math.min(500, count - i) },
        async () => await chain.appendSigned(examFor(chain, a, net.registry.length), a.keys.sign)
      ))
    }
    await chain.settled()
    const length = chain.length
    const blockBytes = (await coreOf(chain).get(1))!.byteLength
    progress(`throughput: chain built in ${((Date.now() - t) / 1000).toFixed(1)} s (${length} blocks, ${blockBytes} bytes each)`)
    await net.start(a.id)

    // The same blocks in a plain Corestore, served over a plain TCP socket. Its stores attach nothing by
    // themselves, like the ledger's: a core is served when the peer asks for it, fetched when attached.
    t = Date.now()
    const rawA = new Corestore(join(dir, 'raw-a'), { active: false })
    rawStores.push(rawA)
    const rawCore = rawA.get({ name: 'raw' })
    await rawCore.ready()
    for (let i = 0; i < length; i += 100) {
      const blocks: Uint8Array[] = []
      for (let j = i; j < Math.min(length, i + 100); j++) blocks.push((await coreOf(chain).get(j))!)
      await rawCore.append(blocks)
    }
    const server = createServer((socket) => {
      // libp2p's TCP transport sets TCP_NODELAY too: without it, Nagle's algorithm held the first
      // blocks back by ~40 ms (a delayed ACK), which weighed on the baseline (most at small counts).
      socket.setNoDelay(true)
      const s = rawA.replicate(true)
      s.pipe(socket).pipe(s as unknown as NodeJS.WritableStream)
      s.on('error', () => socket.destroy())
      socket.on('error', () => s.destroy())
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    const port = (server.address() as { port: number }).port
    progress(`throughput: raw copy made in ${((Date.now() - t) / 1000).toFixed(1)} s; ${rounds.warmups} + ${rounds.repeats} rounds of TCP, libp2p …`)

    let round = 0
    const tcpRun = async (): Promise<number> => {
      const storeB = new Corestore(join(dir, `raw-b-${round}`), { active: false })
      // Opened before the clock, as the libp2p side's replica (Ledger.replicaOf).
      const core = storeB.get({ key: rawCore.key!, active: false })
      await core.ready()
      const socket: Socket = connect(port, '127.0.0.1')
      socket.setNoDelay(true)
      await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
      const s = storeB.replicate(false)
      s.pipe(socket).pipe(s as unknown as NodeJS.WritableStream)
      s.on('error', () => socket.destroy())
      socket.on('error', () => s.destroy())
      try {
        // The libp2p side's session (Noise, yamux, Hypercore's own handshake) is up before its clock starts too.
        await (s.noiseStream as { opened: Promise<boolean> }).opened
        const complete = completion(core, length)
        const start = performance.now()
        // What Replication.fetchChain does: attach the core, learn the length, download the range.
        core.replicate(s)
        while (core.length < length) await new Promise<void>((resolve) => core.once('append', () => resolve()))
        await core.download({ start: 0, end: length }).done()
        return await complete - start
      } finally {
        s.destroy()
        socket.destroy()
        await storeB.close()
      }
    }
    const libp2pRun = async (): Promise<{ transfer: number, total: number }> => {
      const id = 'hospital-b'
      const node = await net.start(id, { ledgerDir: `b-${round}`, replicateAll: false })
      try {
        // A node that caught up on a long chain before has its verification workers up: their start is not part of this one.
        node.ledger.warmVerifyWorkers()
        if (node.ledger.verifyWorkers > 0) await waitFor(() => node.ledger.verifyWorkersReady, `${id}'s verification workers to start`, 60_000)
        const replica = await node.ledger.replicaOf(user.userId, chainKey)
        const complete = completion(coreOf(replica), length)
        const start = performance.now()
        const { ingest } = await profiled('net-replication', async () => await node.replication.fetchChain(user.userId, chainKey, { length, timeoutMs: 300_000 }))
        const end = performance.now()
        if (ingest.problem !== undefined || replica.verifiedLength !== length) throw new Error(`bench: fetched chain did not ingest: ${JSON.stringify(ingest.problem)}`)
        return { transfer: await complete - start, total: end - start }
      } finally {
        await net.stop(id)
      }
    }
    const tcp: number[] = []
    const transfer: number[] = []
    const total: number[] = []
    for (; round < rounds.warmups + rounds.repeats; round++) {
      const tcpMs = await tcpRun()
      const l = await libp2pRun()
      progress(`throughput round ${round + 1}: TCP ${(length / tcpMs * 1000).toFixed(0)}/s, libp2p transfer ${(length / l.transfer * 1000).toFixed(0)}/s, + ingest ${(length / l.total * 1000).toFixed(0)}/s`)
      if (round < rounds.warmups) continue
      tcp.push(length / tcpMs * 1000)
      transfer.push(length / l.transfer * 1000)
      total.push(length / l.total * 1000)
    }
    const [tcpRate, transferRate, totalRate] = [median(tcp), median(transfer), median(total)]
    return [
      { section: SECTION, name: 'replicated block size (sealed exam)', value: blockBytes, unit: 'bytes' },
      { section: SECTION, name: `raw hypercore replication over plain TCP (${length} blocks, one process)`, value: tcpRate, unit: 'blocks/s' },
      { section: SECTION, name: 'libp2p fetchChain, transfer only (no ingest)', value: transferRate, unit: 'blocks/s', ratio: { against: 'plain TCP', value: transferRate / tcpRate, target: 0.9 } },
      {
        section: SECTION,
        name: 'libp2p fetchChain, transfer + ingest (re-verification)',
        value: totalRate,
        unit: 'blocks/s',
        ratio: { against: 'plain TCP', value: totalRate / tcpRate, target: 0.7 }
      }
    ]
  } finally {
    for (const s of servers) s.close()
    await net.close()
    for (const s of rawStores) await s.close().catch(() => {})
  }
}

// ------------------------------------------------------------------ 3. a node holding many chains

async function runHolder (args: string[], gc: boolean): Promise<string> {
  const script = join(HERE, 'net-holder.ts')
  const child = spawn(process.execPath, [...(gc ? ['--expose-gc'] : []), '--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => { out += chunk })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  if (code !== 0) throw new Error(`bench: net-holder ${args[0]} failed (exit ${code})`)
  return out.trim().split('\n').at(-1)!
}

/** The cached store of `count` chains, built if missing; with how long the build took (now or when cached). */
async function chainsOf (count: number): Promise<{ dir: string, meta: BuildMeta, cached: boolean }> {
  const dir = resolve('bench-results', `net-chains-${count}`)
  try {
    await access(join(dir, 'meta.json'))
    return { dir, meta: JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as BuildMeta, cached: true }
  } catch {}
  progress(`holder: building ${count.toLocaleString('en-US')} chains (cached afterwards in ${dir}) …`)
  return { dir, meta: JSON.parse(await runHolder(['build', dir, String(count)], false)) as BuildMeta, cached: false }
}

/** Targets at the largest count: a hospital's node holding a million chains on ordinary hardware. */
const HOLDER_RSS_TARGET_MIB = 1024
const HOLDER_STARTUP_TARGET_MS = 5000
const HOLDER_HANDLE_RATIO_TARGET = 0.8

/**
 * Each count measured `repeats` times (a fresh child process each), medians
 * reported: the machine is shared, one run says little. The store of each
 * count is built once and cached; the first count is the baseline of the
 * head-handling ratios.
 */
async function manyChains (counts: readonly number[], repeats: number): Promise<Figure[]> {
  const results: Array<{ count: number, meta: BuildMeta, cached: boolean, runs: HolderResult[] }> = []
  for (const count of counts) {
    const { dir, meta, cached } = await chainsOf(count)
    // A store built before the catalog checkpoint would read its catalog in full in the first run only.
    await runHolder(['prepare', dir], false)
    const runs: HolderResult[] = []
    for (let i = 1; i <= repeats; i++) {
      progress(`holder: measuring a node holding ${count.toLocaleString('en-US')} chains (child process, run ${i}/${repeats}) …`)
      runs.push(JSON.parse(await runHolder(['measure', dir], true)) as HolderResult)
    }
    results.push({ count, meta, cached, runs })
  }
  const figures: Figure[] = []
  const mib = (b: number): number => b / 2 ** 20
  const med = (runs: HolderResult[], pick: (r: HolderResult) => number): number => median(runs.map(pick))
  const small = results[0]!
  const largest = results.at(-1)!
  for (const { count, meta, cached, runs } of results) {
    const n = count.toLocaleString('en-US')
    const atLargest = count === largest.count && results.length > 1
    const startup = med(runs, (r) => r.openLedgerMs + r.startNodeMs)
    const rss = med(runs, (r) => mib(r.rssIdleBytes))
    figures.push({ section: SECTION, name: `setup: build ${n} genesis-only chains (${cached ? 'cached from an earlier run' : 'this run'})`, value: meta.buildMs / 1000, unit: 's' })
    figures.push({ section: SECTION, name: `${n} chains: open ledger (catalog load), median of ${runs.length}`, value: med(runs, (r) => r.openLedgerMs), unit: 'ms' })
    figures.push({ section: SECTION, name: `${n} chains: catalog records covered by its checkpoint at open`, value: med(runs, (r) => r.catalogCheckpointLength), unit: 'records' })
    figures.push({ section: SECTION, name: `${n} chains: rss grown while the ledger opened`, value: med(runs, (r) => mib(r.rssOpenBytes - r.rssBeforeOpenBytes)), unit: 'MiB' })
    figures.push({ section: SECTION, name: `${n} chains: start node, median of ${runs.length}`, value: med(runs, (r) => r.startNodeMs), unit: 'ms' })
    figures.push({
      section: SECTION,
      name: `${n} chains: start-up (open ledger + start node)`,
      value: startup,
      unit: 'ms',
      ...(atLargest ? { ratio: { against: `${HOLDER_STARTUP_TARGET_MS / 1000} s target (target / start-up)`, value: HOLDER_STARTUP_TARGET_MS / startup, target: 1 } } : {})
    })
    figures.push({ section: SECTION, name: `${n} chains: head log seeded from storage (background, after start)`, value: med(runs, (r) => r.seedLogMs), unit: 'ms' })
    figures.push({
      section: SECTION,
      name: `${n} chains: node rss, idle, after GC${runs[0]!.gcExposed ? '' : ' (GC not exposed)'}`,
      value: rss,
      unit: 'MiB',
      ...(atLargest ? { ratio: { against: `${HOLDER_RSS_TARGET_MIB} MiB target (target / rss)`, value: HOLDER_RSS_TARGET_MIB / rss, target: 1 } } : {})
    })
    figures.push({ section: SECTION, name: `${n} chains: JS heap used, idle, after GC`, value: med(runs, (r) => mib(r.heapUsedIdleBytes)), unit: 'MiB' })
    figures.push({ section: SECTION, name: `${n} chains: node rss after ${runs[0]!.handleColdMs.length} heads handled`, value: med(runs, (r) => mib(r.rssAfterBytes)), unit: 'MiB' })
  }
  for (const { count, runs } of results.slice(1)) {
    // What each further chain costs: what a larger count would need, and what bounds it.
    const n = count.toLocaleString('en-US')
    const chains = count - small.count
    const perChain = (pick: (r: HolderResult) => number): number => (med(runs, pick) - med(small.runs, pick)) / chains
    figures.push({ section: SECTION, name: `per chain, ${small.count.toLocaleString('en-US')} → ${n}: idle rss`, value: perChain((r) => r.rssIdleBytes), unit: 'bytes' })
    figures.push({ section: SECTION, name: `per chain, ${small.count.toLocaleString('en-US')} → ${n}: JS heap used`, value: perChain((r) => r.heapUsedIdleBytes), unit: 'bytes' })
    figures.push({ section: SECTION, name: `per chain, ${small.count.toLocaleString('en-US')} → ${n}: start-up`, value: perChain((r) => r.openLedgerMs + r.startNodeMs) * 1000, unit: 'µs' })
  }
  for (const [kind, pick] of [['first since start (head logged at seeding)', (r: HolderResult) => r.handleColdMs], ['again', (r: HolderResult) => r.handleWarmMs]] as const) {
    const s = median(small.runs.flatMap(pick))
    figures.push({ section: SECTION, name: `head announcement handled, ${kind}, p50 at ${small.count.toLocaleString('en-US')} chains`, value: s, unit: 'ms' })
    for (const { count, runs } of results.slice(1)) {
      const n = count.toLocaleString('en-US')
      const l = median(runs.flatMap(pick))
      const target = count === largest.count ? { target: HOLDER_HANDLE_RATIO_TARGET } : {}
      figures.push({ section: SECTION, name: `head announcement handled, ${kind}, p50 at ${n} chains`, value: l, unit: 'ms', ratio: { against: `${small.count.toLocaleString('en-US')}-chain time (t_small/t_${n})`, value: s / l, ...target } })
    }
  }
  return figures
}

// ------------------------------------------------------------------

/** `runs(part)` says whether to run a part: net-propagation, net-replication, net-holder. */
export async function netBench (opts: { quick: boolean, runs: (part: string) => boolean }): Promise<Figure[]> {
  const { quick, runs } = opts
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-net-bench-'))
  // Other processes' load moves every figure here (all nodes share two cores): say how loaded the machine was.
  const figures: Figure[] = [{ section: SECTION, name: 'machine load average (1 min) at start', value: loadavg()[0]!, unit: '' }]
  try {
    if (runs('net-propagation')) figures.push(...await propagation(join(dir, 'propagation'), quick ? 50 : 200))
    if (runs('net-replication')) figures.push(...await throughput(join(dir, 'throughput'), quick ? 2_000 : 10_000, { repeats: quick ? 3 : 5, warmups: 1 }))
    if (runs('net-holder')) figures.push(...await manyChains(quick ? [1_000, 10_000] : [1_000, 100_000, 1_000_000], quick ? 1 : 3))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return figures
}
