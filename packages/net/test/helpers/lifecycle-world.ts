/**
 * DEV DOCS — a small consortium whose life a test drives step by step, with
 * the promises checked as invariants after every step.
 *
 * Real nodes on 127.0.0.1, ledgers on disk (TestNet): hospital-a (examiner,
 * custodian of chain 0, and the one that may lie), hospital-b (examiner,
 * custodian of chain 1), the regulator (a witness), and hospital-m (an
 * examiner with no node: the one users grant, and governance suspends).
 *
 * Steps (each a method, so a failing sequence replays as plain code):
 * honest writes (exams by either examiner, written at or forwarded to the
 * custodian; a user's exercise; grants and revocations; erasures),
 * suspension and reinstatement, rotation of an examiner's keys by
 * governance (helpers/lifecycle-rotation.ts; the examiner then writes with
 * the generation its own registry lists) and an exam signed with a
 * rotated-out key after the rotation, custody (helpers/lifecycle-custody.ts:
 * the user moves a chain to the other examiner, its old custodian up,
 * stopped, lost or suspended; the old custodian appends past N to the core
 * the chain left; the user rotates their keys, and writes with the
 * rotated-out one), lies by hospital-a (raw appends: a forged
 * grant, a recipient nobody granted, an exam of a suspended examiner
 * backdated to before its suspension), idle closes, restarts, isolation
 * (the node's network stops, its ledger stays open — a custodian keeps
 * writing) and healing, and `quiet()`: heal everything, wait for the
 * network to converge, check everything.
 *
 * The model records only what it was told for sure: writes acknowledged
 * (position and id), consents the user signed, erasures acknowledged, and
 * the registry lengths at which hospital-m's status changed. An unknown
 * outcome (a refused or timed-out write) records nothing.
 *
 * Invariants, on every node whose ledger is open (`checkStep`, after every
 * step), judged against a full `verify()` of that node's own copy:
 *   I1 nothing served as valid (NetworkNode.read) lies at or past the first
 *      position a full verification refuses (or cannot check);
 *   I2 every cosignature the witness made is of a length its own copy
 *      verifies (it is asked to consider its current head first);
 *   I3 every acknowledged write is in its custodian's chain, at its
 *      position, with its id (or erased on purpose);
 *   I5 a node that has verified an erasure serves none of the entries it
 *      names and holds none of their data;
 *   I6 every exam served as valid is sealed only for the user, its author
 *      and examiners the model knows the user granted, active at the exam's
 *      registry length and at the chain's registry mark;
 *   I8, I9 (helpers/lifecycle-rotation.ts) every exam verifies with its
 *      author's key in force at its registry length, not rotated out by the
 *      chain's mark; every sealed exam still opens for its author.
 *   I10, I11 (helpers/lifecycle-custody.ts) nothing of a core a chain left
 *      served beyond N, an append there flagged; every user entry verifies
 *      with the user's generation in force, for its segment's key; every
 *      sealed exam opens for the user. A chain's positions are signed for
 *      the key of the core they were written in (`keyAt`).
 * And at `quiet()`:
 *   I4 every replica reaches the verified length of its custodian's chain
 *      (for a chain hospital-a lied on: the first position a full
 *      verification refuses), and then reports no lag for honest chains.
 *      Within `quiet`'s wait, which is longer than the nodes' heads
 *      reconciliation interval (RECONCILE_MS): gossip is best effort (a
 *      head published before a node just restarted has its subscription
 *      known is not resent), and what a replica promises is to catch up at
 *      its next reconciliation at the latest.
 *   I7 a chain hospital-a equivocated on (two histories at two lengths, one
 *      of them served by its second node) is flagged by every node.
 *   I10 every node holds each honest chain as its custodian's latest
 *      continuation, verified whole, and flags every append past N.
 * Not covered here: the query index and FHIR views (the daemon's, over the
 * same reads), SIGKILL (test/crash-invariants.test.ts).
 */
import {
  buildErasure, buildExam, buildGenesis, buildGrant, buildRevoke, buildUserEntry, bytesToHex, decodeEntry, newRecoveryPhrase, nextKeyDigest, signEntry,
  userKeysFromPhrase, type Entry, type EntryType, type InstitutionId, type UnsignedEntry, type UserId, type UserKeys
} from '@healthchain/core'
import type { Ledger, UserChain } from '@healthchain/ledger'
import { coreOf } from '@healthchain/ledger/testing'
import { appendAtOnce, blocksOf, examBlocks, seedTwinLedger } from './equivocation.js'
import { CustodySteps, type Handover } from './lifecycle-custody.js'
import { KeyGenerations } from './lifecycle-rotation.js'
import { MaliciousCustodian } from './malicious-custodian.js'
import { crypto, TestNet, waitFor, type Cleanup, type Party } from '@healthchain/net/testing'

export const NODES = ['hospital-a', 'hospital-b', 'regulator'] as const
export type NodeName = typeof NODES[number]
export type Examiner = 'hospital-a' | 'hospital-b'
export type Grantee = 'hospital-b' | 'hospital-m'
export type Lie = 'forged-grant' | 'ungranted-recipient' | 'backdated'
const LIAR: NodeName = 'hospital-a'
/** The liar's second node, started only to equivocate: it holds the liar's keys and another history of chain 0. */
const TWIN = 'hospital-t'

/** Refusals an honest step may meet in a network that lives (a lagging registry, a custodian away); anything else fails the run. */
const EXPECTED_REFUSALS = new Set([
  'CONSENT_VIOLATION', 'REGISTRY_BEHIND', 'CUSTODIAN_UNREACHABLE', 'TIMEOUT', 'STALE_POSITION', 'REFUSED', 'AUTHOR_SUSPENDED', 'NO_PEER',
  'UNKNOWN_CUSTODIAN', 'STOPPED'
])

/** The key a chain's position `seq` was signed for: the key of the core (segment) it was written in. */
export function keyAt (c: ChainModel, seq: number): Uint8Array {
  return c.moved.find((core) => seq < core.length)?.key ?? c.chainKey
}

/** The user's keys in force now. */
export function userNow (c: ChainModel): UserKeys { return c.generations[c.generations.length - 1]! }

/** What a custodian answers an exam signed with a key its registry has rotated out (expected only of such an exam). */
const ROTATED_OUT = 'BAD_SIGNATURE'

interface Ack { readonly seq: number, readonly id: string, readonly type: EntryType }

export interface ChainModel {
  readonly index: number
  /** Generation 0 of the user's keys: the user id. */
  readonly user: UserKeys
  /** The recovery phrase every generation derives from. */
  readonly phrase: string
  /** The user's keys by generation; the last is in force (helpers/lifecycle-custody.ts rotates them). */
  readonly generations: UserKeys[]
  /** Positions of the acknowledged rekeys, in chain order. */
  readonly rekeys: number[]
  /** The custodian now, and the key of the core it appends to: both change when the chain moves. */
  custodian: Examiner
  chainKey: Uint8Array
  /** The cores the chain moved from, oldest first: each one's key, where the next took over (N), who wrote it. */
  readonly moved: Array<{ readonly key: Uint8Array, readonly length: number, readonly custodian: Examiner }>
  readonly acks: Ack[]
  /** Erased positions, and where each erasure stands. */
  readonly erased: Map<number, number>
  /** Consents the user signed and the custodian acknowledged, in chain order. */
  readonly consents: Array<{ readonly seq: number, readonly examiner: Grantee, readonly grant: boolean }>
  /** hospital-a appended raw blocks: its own copy is not to be believed, nor written to again. */
  lied: boolean
  /** hospital-a signed two histories of it (equivocate). */
  forked: boolean
}

export interface WorldStats {
  steps: number
  transfers: number
  rogues: number
  rekeys: number
  checks: number
  acked: number
  refused: Map<string, number>
  restarts: number
  idleCloses: number
  isolations: number
  lies: number
  equivocations: number
  erasures: number
  quiets: number
  rotations: number
}

/** Every counter of WorldStats at 0. */
export const NO_COUNTS: Omit<WorldStats, 'refused'> = {
  steps: 0,
  checks: 0,
  acked: 0,
  restarts: 0,
  idleCloses: 0,
  isolations: 0,
  lies: 0,
  equivocations: 0,
  erasures: 0,
  quiets: 0,
  rotations: 0,
  transfers: 0,
  rogues: 0,
  rekeys: 0
}

/**
 * How often the world's nodes reconcile heads with each peer (a node's default is 30 s): shorter than `quiet`'s wait, so
 * that a replica which missed a head's gossip catches up within it, as the product promises it does within one interval.
 */
const RECONCILE_MS = 5_000

export class InvariantViolation extends Error {
  constructor (invariant: string, detail: string) {
    super(`${invariant} violated: ${detail}`)
    this.name = 'InvariantViolation'
  }
}

export class LifecycleWorld {
  readonly net: TestNet
  readonly chains: ChainModel[]
  /** Nodes whose network runs; the others are isolated (ledger open, no network). */
  readonly up = new Set<NodeName>()
  /** Registry lengths after each change of hospital-m's status (active before the first). */
  readonly mStatus: Array<{ readonly length: number, readonly active: boolean }> = []
  readonly stats: WorldStats = { ...NO_COUNTS, refused: new Map() }

  /** Each institution's key generations, and the invariants about them. */
  readonly keys: KeyGenerations

  /** Every step run, as code: what to paste into a test to replay it. */
  readonly script: string[] = []

  /** Custody moves and user key rotations, and the invariants about them. */
  readonly custody: CustodySteps = new CustodySteps(this)

  private constructor (net: TestNet, chains: ChainModel[]) {
    this.net = net
    this.chains = chains
    this.keys = new KeyGenerations((id) => net.party(id))
  }

  static async create (cleanup: Cleanup): Promise<LifecycleWorld> {
    const net = await TestNet.create(
      [['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['regulator', 'regulator'], ['hospital-m', 'examiner'], [TWIN, 'examiner']],
      cleanup, { nodeDefaults: { heads: { reconcileIntervalMs: RECONCILE_MS } } }
    )
    for (const id of NODES) await net.start(id)
    await net.meshed()
    const chains: ChainModel[] = []
    for (const custodian of ['hospital-a', 'hospital-b'] as const) {
      // A genesis that commits to generation 1 of the phrase's keys, so the user can rotate them.
      const phrase = newRecoveryPhrase()
      const user = userKeysFromPhrase(phrase, crypto)
      const next = nextKeyDigest(userKeysFromPhrase(phrase, crypto, 1))
      const node = net.node(custodian)
      const chainKey = await node.ledger.chainKeyFor(user.userId)
      await node.enrol(signEntry(buildGenesis(user, custodian as InstitutionId, { next }, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto))
      const custody = { phrase, generations: [user], rekeys: [], custodian, chainKey, moved: [] }
      chains.push({ index: chains.length, user, ...custody, acks: [], erased: new Map(), consents: [], lied: false, forked: false })
    }
    const world = new LifecycleWorld(net, chains)
    for (const id of NODES) world.up.add(id)
    // Every node holds both chains before the first step (a writer forwards through its own copy).
    for (const id of NODES) {
      for (const c of chains) {
        await waitFor(async () => (await world.chainAt(id, c))?.verifiedLength === 1, `${id} to replicate chain ${c.index}'s genesis`)
      }
    }
    return world
  }

  // ------------------------------------------------------------ helpers

  private party (id: string): Party { return this.net.party(id) }

  private async ledger (id: NodeName): Promise<Ledger> { return await this.net.ledger(id) }

  /** The node's copy of a chain, or undefined if it holds none. */
  async chainAt (id: NodeName, c: ChainModel): Promise<UserChain | undefined> {
    const ledger = await this.ledger(id)
    return ledger.hasChain(c.user.userId) ? await ledger.chain(c.user.userId) : undefined
  }

  /** @internal For the steps in other helpers: counts the step and keeps its line. */
  record (line: string): void {
    this.script.push(line)
    this.stats.steps++
  }

  /** @internal Counts an expected refusal; rethrows anything else. */
  refused (err: unknown, also?: string): void {
    const code = (err as { remoteCode?: unknown, code?: unknown }).remoteCode ?? (err as { code?: unknown }).code
    if (typeof code !== 'string' || !(EXPECTED_REFUSALS.has(code) || code === also)) throw err
    this.stats.refused.set(code, (this.stats.refused.get(code) ?? 0) + 1)
  }

  /** Appends an entry at the chain's custodian: through its node when up, else on its ledger (cut off, it still writes). */
  async atCustodian (c: ChainModel, sign: (seq: number) => Entry, also?: string): Promise<number | undefined> {
    try {
      if (this.up.has(c.custodian)) return (await this.net.node(c.custodian).append(c.user.userId, sign)).seq
      const chain = (await this.chainAt(c.custodian, c))!
      await chain.settled()
      return (await chain.append(sign(chain.length), chain.length)).seq
    } catch (err) {
      this.refused(err, also)
      return undefined
    }
  }

  acked (c: ChainModel, seq: number | undefined, entry: Entry): boolean {
    if (seq === undefined) return false
    c.acks.push({ seq, id: bytesToHex(entry.id), type: entry.type })
    this.stats.acked++
    return true
  }

  mActiveAt (length: number): boolean {
    let active = true
    for (const change of this.mStatus) if (change.length <= length) active = change.active
    return active
  }

  get mSuspended (): boolean { return !(this.mStatus.at(-1)?.active ?? true) }

  /** Whether an honest write to chain `i` can be attempted now. */
  canWrite (i: number, via?: NodeName): boolean {
    const c = this.chains[i]!
    if (c.lied) return false
    if (via === undefined || via === c.custodian) return true
    return this.up.has(via) && this.up.has(c.custodian)
  }

  // ------------------------------------------------------------ honest steps

  /** An exam by `writer` on chain `i`, sealed for whoever its own copy says; forwarded when it is not the custodian. */
  async exam (writer: Examiner, i: number): Promise<void> {
    this.record(`await w.exam('${writer}', ${i})`)
    const c = this.chains[i]!
    const author = this.party(writer)
    const copy = (await this.chainAt(writer, c))!
    const registry = (await this.ledger(writer)).registry
    // The generation the writer's own registry lists; one the custodian's registry has rotated out since is refused.
    const keys = this.keys.listed(writer, registry.state)
    const also = keys === this.keys.now(writer).keys ? undefined : ROTATED_OUT
    const unsigned = buildExam({
      author: author.id,
      reg: registry.length,
      chainKey: c.chainKey,
      plain: { title: `Visit ${this.stats.steps}`, observations: [{ code: '8480-6', value: 110 + this.stats.steps, unit: 'mm[Hg]' }] },
      sealed: { notes: 'seen at the clinic' },
      recipients: copy.examRecipients(keys.box.publicKey)
    }, crypto)
    const sign = (seq: number): Entry => signEntry(unsigned, { chainKey: c.chainKey, seq }, keys.sign.secretKey, crypto)
    const seq = await this.appendBy(writer, c, sign, also)
    this.acked(c, seq, sign(seq ?? 0))
  }

  /** Appends at the custodian, or forwarded by `writer` through its node; the position acknowledged, or undefined if refused. */
  private async appendBy (writer: Examiner, c: ChainModel, sign: (seq: number) => Entry, also?: string): Promise<number | undefined> {
    if (writer === c.custodian) return await this.atCustodian(c, sign, also)
    try {
      return (await this.net.node(writer).append(c.user.userId, sign, { timeoutMs: 5_000 })).seq
    } catch (err) {
      this.refused(err, also)
      return undefined
    }
  }

  /** Governance rotates the examiner's signing and sealing keys (appended at the registry's host, whose ledger is always open). */
  async rotate (examiner: Examiner): Promise<void> {
    this.record(`await w.rotate('${examiner}')`)
    const keys = this.keys.next()
    const registry = await this.net.hostRegistry()
    await registry.append('rotate', { institution: this.party(examiner).id, sign: keys.sign.publicKey, box: keys.box.publicKey }, this.net.governance.sign)
    this.keys.rotated(examiner, keys, registry.length)
    this.stats.rotations++
  }

  /**
   * The examiner signs an exam with a key governance rotated out, naming the
   * registry after the rotation (no backdating): whichever way it goes, the
   * custodian must refuse it (REGISTRY_BEHIND if its registry lacks the
   * rotation, BAD_SIGNATURE if not). Acknowledged: I8 is broken.
   */
  async staleExam (writer: Examiner, i: number): Promise<void> {
    this.record(`await w.staleExam('${writer}', ${i})`)
    const c = this.chains[i]!
    const old = this.keys.rotatedOut(writer)
    if (old === undefined) return
    const unsigned = buildExam({
      author: this.party(writer).id,
      reg: (await this.net.hostRegistry()).length,
      chainKey: c.chainKey,
      plain: { title: `Stale ${this.stats.steps}`, observations: [] },
      sealed: { notes: 'signed with a rotated-out key' },
      recipients: [userNow(c).box.publicKey, old.box.publicKey]
    }, crypto)
    const sign = (seq: number): Entry => signEntry(unsigned, { chainKey: c.chainKey, seq }, old.sign.secretKey, crypto)
    const seq = await this.appendBy(writer, c, sign, ROTATED_OUT)
    this.stats.checks++
    if (seq !== undefined) throw new InvariantViolation('I8', `chain ${c.index}: ${c.custodian} acknowledged at ${seq} an exam ${writer} signed with a rotated-out key`)
  }

  /** The user's phone writes exercise data (signed on the device) through the custodian. */
  async exercise (i: number): Promise<void> {
    this.record(`await w.exercise(${i})`)
    const c = this.chains[i]!
    const start = Date.now() - 3_600_000
    await this.userEntry(c, buildUserEntry('exercise', { start, end: start + 1_800_000, observations: [{ code: '55423-8', value: 4000, unit: '{steps}' }] }, {}, crypto))
  }

  async grant (i: number, examiner: Grantee): Promise<void> {
    this.record(`await w.grant(${i}, '${examiner}')`)
    const c = this.chains[i]!
    const party = this.party(examiner)
    const grant = buildGrant({ examiner: party.id, examinerBox: party.keys.box.publicKey, chainKey: c.chainKey, userBox: userNow(c).box }, crypto)
    const seq = await this.userEntry(c, grant)
    if (seq !== undefined) c.consents.push({ seq, examiner, grant: true })
  }

  async revoke (i: number, examiner: Grantee): Promise<void> {
    this.record(`await w.revoke(${i}, '${examiner}')`)
    const c = this.chains[i]!
    const seq = await this.userEntry(c, buildRevoke(this.party(examiner).id, {}, crypto))
    if (seq !== undefined) c.consents.push({ seq, examiner, grant: false })
  }

  /** The user erases the `pick`-th (modulo) erasable entry acknowledged and not erased yet. */
  async erase (i: number, pick: number): Promise<void> {
    this.record(`await w.erase(${i}, ${pick})`)
    const c = this.chains[i]!
    const erasable = c.acks.filter((a) => (a.type === 'exam' || a.type === 'exercise') && !c.erased.has(a.seq))
    if (erasable.length === 0) return
    const target = erasable[pick % erasable.length]!
    const seq = await this.userEntry(c, buildErasure([target.seq], {}, crypto))
    if (seq !== undefined) {
      c.erased.set(target.seq, seq)
      this.stats.erasures++
    }
  }

  private async userEntry (c: ChainModel, unsigned: UnsignedEntry): Promise<number | undefined> {
    const sign = (seq: number): Entry => signEntry(unsigned, { chainKey: c.chainKey, seq }, userNow(c).sign.secretKey, crypto)
    const seq = await this.atCustodian(c, sign)
    this.acked(c, seq, sign(seq ?? 0))
    return seq
  }

  /** Governance suspends hospital-m (no-op if it is suspended). */
  async suspend (): Promise<void> {
    this.record('await w.suspend()')
    if (this.mSuspended) return
    this.mStatus.push({ length: await this.net.setStatus('hospital-m', 'suspend'), active: false })
  }

  async reinstate (): Promise<void> {
    this.record('await w.reinstate()')
    if (!this.mSuspended) return
    this.mStatus.push({ length: await this.net.setStatus('hospital-m', 'reinstate'), active: true })
  }

  // ------------------------------------------------------------ custody (helpers/lifecycle-custody.ts)

  async transfer (i: number, how: Handover): Promise<void> { await this.custody.transfer(i, how) }
  async rogue (i: number): Promise<void> { await this.custody.rogue(i) }
  async rekey (i: number): Promise<void> { await this.custody.rekey(i) }
  async staleUserEntry (i: number): Promise<void> { await this.custody.staleUserEntry(i) }

  // ------------------------------------------------------------ lies

  /** hospital-a appends past every rule to chain 0, the one it keeps. */
  async lie (kind: Lie): Promise<void> {
    this.record(`await w.lie('${kind}')`)
    const c = this.chains[0]!
    const announce = (user: UserId): void => { if (this.up.has(LIAR)) this.net.node(LIAR).heads.announce(user) }
    const liar = new MaliciousCustodian(await this.ledger(LIAR), this.keys.now(LIAR), announce)
    const m = this.party('hospital-m')
    if (kind === 'forged-grant') {
      await liar.forgedGrant(c.user.userId, m)
    } else if (kind === 'ungranted-recipient') {
      await liar.examSealedFor(c.user.userId, [c.user.box.publicKey, this.party(LIAR).keys.box.publicKey, crypto.randomBytes(32)])
    } else {
      const suspension = this.mStatus.findLast((change) => !change.active)
      if (suspension === undefined) return
      await liar.examSealedFor(c.user.userId, [c.user.box.publicKey, m.keys.box.publicKey], { author: m, reg: suspension.length - 1 })
    }
    c.lied = true
    this.stats.lies++
  }

  /**
   * hospital-a signs two histories of chain 0 that share its current blocks:
   * history A grows by two blocks in one append (a head at k + 2 only), and
   * its second node (the twin, same keys) holds history B, one other block
   * (a head at k + 1). No two heads of one length disagree; A's tree
   * contradicts B's head. Once: the twin is started here and runs on. It
   * takes the registry from hospital-a, which must be up.
   */
  async equivocate (): Promise<void> {
    this.record('await w.equivocate()')
    const c = this.chains[0]!
    if (c.forked) return
    const ledger = await this.ledger(LIAR)
    const chain = (await this.chainAt(LIAR, c))!
    await chain.settled()
    const k = coreOf(chain).length
    const shared = await blocksOf(coreOf(chain), k)
    // Valid exams by the liar, signed against the registry its ledger has (its node may be cut off).
    const exams = (count: number, label: string): Uint8Array[] =>
      examBlocks(this.net, this.keys.now(LIAR), c.user, c.chainKey, k, count, label, ledger.registry.length)
    await appendAtOnce(chain, exams(2, 'history A'))
    if (this.up.has(LIAR)) this.net.node(LIAR).heads.announce(c.user.userId)
    await seedTwinLedger(this.net, TWIN, LIAR, c.user, c.chainKey, [...shared, ...exams(1, 'history B')])
    const twin = await this.net.start(TWIN)
    twin.heads.announce(c.user.userId)
    c.lied = true
    c.forked = true
    this.stats.equivocations++
  }

  // ------------------------------------------------------------ life events

  async idleClose (id: NodeName): Promise<void> {
    this.record(`await w.idleClose('${id}')`)
    await (await this.ledger(id)).closeIdle(0)
    this.stats.idleCloses++
  }

  /** Stops the node and closes its ledger, then opens both again (a clean restart). */
  async restart (id: NodeName): Promise<void> {
    this.record(`await w.restart('${id}')`)
    await this.net.stop(id)
    this.up.delete(id)
    await this.net.closeLedger(id)
    await this.start(id)
    this.stats.restarts++
  }

  /** The node's network stops; its ledger stays open (a custodian keeps writing, nobody hears of it). */
  async isolate (id: NodeName): Promise<void> {
    this.record(`await w.isolate('${id}')`)
    if (!this.up.has(id)) return
    await this.net.stop(id)
    this.up.delete(id)
    this.stats.isolations++
  }

  async heal (id: NodeName): Promise<void> {
    this.record(`await w.heal('${id}')`)
    if (this.up.has(id)) return
    await this.start(id)
  }

  private async start (id: NodeName): Promise<void> {
    await this.net.start(id)
    this.up.add(id)
    // A node back from a time away hears of the moves it missed before anyone writes through it.
    await this.custody.follows(id)
  }

  /** Heals every node, waits until the network has converged (I4), and checks every invariant. */
  async quiet (timeoutMs = 20_000): Promise<void> {
    this.record('await w.quiet()')
    for (const id of NODES) if (!this.up.has(id)) await this.start(id)
    this.stats.quiets++
    const targets = await Promise.all(this.chains.map(async (c) => await this.convergedLength(c)))
    // I7: an equivocation is flagged on every node (and a forked chain is fetched no further, so it has no length to reach).
    for (const c of this.chains.filter((chain) => chain.forked)) {
      try {
        await waitFor(() => NODES.every((id) => this.net.node(id).isForked(c.chainKey)), 'every node to flag the fork', timeoutMs)
      } catch {
        throw new InvariantViolation('I7', `chain ${c.index}'s fork is flagged by ${NODES.filter((id) => this.net.node(id).isForked(c.chainKey)).join(', ') || 'no node'} only`)
      }
      this.stats.checks += NODES.length
    }
    const behind = async (): Promise<string[]> => {
      const out: string[] = []
      for (const c of this.chains) {
        if (c.forked) continue
        for (const id of NODES) {
          if (id === c.custodian) continue
          const copy = await this.chainAt(id, c)
          const have = copy?.verifiedLength ?? 0
          if (have !== targets[c.index]) out.push(`${id} has ${have} of chain ${c.index}'s ${targets[c.index]}`)
          else if (copy !== undefined && bytesToHex(copy.key) !== bytesToHex(c.chainKey)) out.push(`${id} holds chain ${c.index} as another core`)
        }
      }
      return out
    }
    // A replica stays behind a lying custodian's head for good, and says so; with honest chains only, once converged nothing is behind.
    const honest = this.chains.every((c) => !c.lied)
    const phantomLag = (): string[] => honest
      ? NODES.map((id) => ({ id, lag: this.net.node(id).heads.replicationLag() })).filter(({ lag }) => lag.chainsBehind !== 0)
        .map(({ id, lag }) => `${id} reports lag ${JSON.stringify(lag)} (fetches failed: ${JSON.stringify(Object.fromEntries(this.net.node(id).heads.stats.fetch.failed))})`)
      : []
    try {
      await waitFor(async () => (await behind()).length === 0 && phantomLag().length === 0, 'the network to converge', timeoutMs)
    } catch {
      const stillBehind = await behind()
      if (stillBehind.length > 0) {
        const lags = NODES.map((id) => `${id} reports lag ${JSON.stringify(this.net.node(id).heads.replicationLag())}`)
        throw new InvariantViolation('I4', `not converged: ${stillBehind.join('; ')} (${lags.join('; ')})`)
      }
      throw new InvariantViolation('I4', `converged, but the lag reported is not: ${phantomLag().join('; ')}`)
    }
    this.stats.checks += 1 + NODES.length
    // I10: the same continuation everywhere, verified whole; every rogue append on a closed core flagged.
    for (const id of NODES) {
      for (const c of this.chains.filter((chain) => !chain.lied)) {
        const problem = await this.custody.settledProblem(id, c)
        this.stats.checks++
        if (problem !== undefined) throw new InvariantViolation('I10', problem)
      }
      const rogue = this.custody.rogueProblem(id)
      if (rogue !== undefined) throw new InvariantViolation('I10', rogue)
    }
    await this.checkStep()
  }

  /** The verified length every replica must reach: the custodian's, or for a lied-on chain the first position a full verification refuses. */
  private async convergedLength (c: ChainModel): Promise<number> {
    const chain = (await this.chainAt(c.custodian, c))!
    await chain.settled()
    if (!c.lied || c.forked) return chain.verifiedLength
    const report = await (await this.ledger(c.custodian)).verify(c.user.userId)
    return firstRefused(report, report.length)
  }

  // ------------------------------------------------------------ invariants

  /** I1, I2, I3, I5, I6 on every node. */
  async checkStep (): Promise<void> {
    for (const c of this.chains) {
      await againIfClosed(c, async () => { await this.checkAcknowledged(c) })
      for (const id of NODES) {
        // The liar's own copy of the chain it lied on is its word, not a verified copy.
        if (c.lied && id === LIAR) continue
        await againIfClosed(c, async () => { await this.checkCopy(id, c) })
        const problem = await this.custody.oldCoresProblem(id, c)
        if (problem !== undefined) throw new InvariantViolation('I10', problem)
      }
    }
  }

  /** I3: every acknowledged write is in the custodian's chain at its position, with its id, unless erased. */
  private async checkAcknowledged (c: ChainModel): Promise<void> {
    const chain = (await this.chainAt(c.custodian, c))!
    await chain.settled()
    for (const ack of c.acks) {
      this.stats.checks++
      if (ack.seq >= chain.length) throw new InvariantViolation('I3', `chain ${c.index}: acknowledged position ${ack.seq} is past the custodian's length ${chain.length}`)
      if (c.erased.has(ack.seq)) continue
      const block = await coreOf(chain).get(ack.seq, { wait: false })
      const id = block === null ? undefined : bytesToHex(decodeEntry(block).id)
      if (id !== ack.id) throw new InvariantViolation('I3', `chain ${c.index}: position ${ack.seq} holds ${id ?? 'nothing'}, not the acknowledged entry ${ack.id}`)
    }
  }

  private async checkCopy (id: NodeName, c: ChainModel): Promise<void> {
    const ledger = await this.ledger(id)
    const chain = await this.chainAt(id, c)
    if (chain === undefined) return
    await chain.settled()
    // The witness considers its current head first, so what it cosigned is judged by a verification made after.
    const witness = id === 'regulator' && this.up.has(id) ? this.net.node(id).witness! : undefined
    await witness?.answer({ v: 1, key: c.chainKey })
    // What the node claims, taken before the verification (which sees at least the blocks it had verified).
    const claimed = chain.verifiedLength
    const report = await ledger.verify(c.user.userId)
    // The report's own length: a conflict can close the core under `chain` meanwhile (the ledger reopens it on next use).
    const firstBad = firstRefused(report, report.length)
    const served = this.up.has(id)
      ? (await this.net.node(id).read(c.user.userId, { start: 0 })).entries
      : await chain.read({ start: 0, end: chain.writable ? chain.length : chain.verifiedLength })
    const verifiedNow = chain.writable ? chain.length : chain.verifiedLength

    // I1: what the node holds as verified, a full verification accepts; and it serves nothing past it.
    this.stats.checks++
    if (claimed > firstBad) throw new InvariantViolation('I1', `${id} holds ${claimed} positions of chain ${c.index} as verified; a full verification refuses from ${firstBad} (${describe(report)})`)
    for (const { seq } of served) {
      this.stats.checks++
      if (seq >= verifiedNow) throw new InvariantViolation('I1', `${id} serves position ${seq} of chain ${c.index}, past the ${verifiedNow} it verified`)
    }
    const verified = claimed

    // I5: a node that has verified an erasure serves none of what it names, and keeps none of its data.
    for (const [target, erasure] of c.erased) {
      if (verified <= erasure) continue
      this.stats.checks++
      if (served.some((e) => e.seq === target)) throw new InvariantViolation('I5', `${id} serves erased position ${target} of chain ${c.index} (erasure at ${erasure}, verified ${chain.verifiedLength}, served ${served.map((e) => `${e.seq}:${e.entry.type}`).join(' ')}, erasures known ${[...chain.erasedPositions].join(' ')})`)
      // An ingest folds an erasure, then clears what it names: judge the data once nothing is under way.
      if (chain.idle && await coreOf(chain).get(target, { wait: false }) !== null) throw new InvariantViolation('I5', `${id} still holds the data of erased position ${target} of chain ${c.index}`)
    }

    // I6: sealed only for the user, the author, and examiners granted and active. I8, I9: keys and their rotations.
    let mark = 0
    for (const { seq, entry } of served) {
      // Each position is signed (and sealed) for the key of the core it was written in.
      const segmentKey = keyAt(c, seq)
      const keyProblem = this.keys.signatureProblem(entry, segmentKey, seq, mark)
      if (keyProblem !== undefined) throw new InvariantViolation('I8', `${id} serves, of chain ${c.index}, ${keyProblem}`)
      const sealProblem = this.keys.sealProblem(entry, segmentKey, seq)
      if (sealProblem !== undefined) throw new InvariantViolation('I9', `${id} serves, of chain ${c.index}, ${sealProblem}`)
      const userProblem = this.custody.userEntryProblem(c, entry, seq) ?? this.custody.userSealProblem(c, entry, seq)
      if (userProblem !== undefined) throw new InvariantViolation('I11', `${id} serves, of chain ${c.index}, ${userProblem}`)
      this.stats.checks++
      this.stats.checks += entry.type === 'exam' ? 2 : 0
      if (entry.type === 'exam' && entry.sealed !== undefined) {
        this.stats.checks++
        const allowed = this.allowedRecipients(c, seq, entry, mark)
        const stray = entry.sealed.to.filter((r) => !allowed.some((k) => bytesToHex(k) === bytesToHex(r.key)))
        if (stray.length > 0) throw new InvariantViolation('I6', `${id} serves exam ${seq} of chain ${c.index} sealed for ${stray.length} recipient(s) the user did not grant (or suspended)`)
      }
      if (entry.reg !== undefined) mark = Math.max(mark, entry.reg)
    }

    // I2: the witness cosigns only lengths its own copy verifies.
    if (witness !== undefined) {
      for (const cosignature of await witness.cosignaturesOf(c.chainKey, 0, 1_000)) {
        this.stats.checks++
        if (cosignature.head.length > firstBad) {
          throw new InvariantViolation('I2', `the regulator cosigned length ${cosignature.head.length} of chain ${c.index}, which a full verification refuses from ${firstBad} (${describe(report)})`)
        }
      }
    }
  }

  /**
   * Who an exam at `seq` may be sealed for, by the model: the user, the author, and grantees the
   * user granted before it, active at its registry length and at the chain's mark.
   */
  private allowedRecipients (c: ChainModel, seq: number, entry: Entry, mark: number): Uint8Array[] {
    // Each institution's every generation of sealing keys: the promise is about who, not which of its keys.
    const allowed = c.generations.map((g) => g.box.publicKey)
    const author = this.net.parties.find((p) => p.id === entry.author)
    if (author !== undefined) allowed.push(...this.keys.all(author.id).map((k) => k.box.publicKey))
    for (const examiner of ['hospital-b', 'hospital-m'] as const) {
      const last = c.consents.filter((consent) => consent.examiner === examiner && consent.seq < seq).at(-1)
      if (last?.grant !== true) continue
      const reg = entry.reg ?? 0
      if (examiner === 'hospital-m' && !(this.mActiveAt(reg) && this.mActiveAt(Math.max(reg, mark)))) continue
      allowed.push(...this.keys.all(examiner).map((k) => k.box.publicKey))
    }
    return allowed
  }

  /** The model in a line, for a failure's message. */
  summary (): string {
    return this.chains.map((c) => `chain ${c.index}: ${c.acks.length} acknowledged, ${c.erased.size} erased${c.lied ? ', lied on' : ''}`).join('; ')
  }
}

/**
 * Runs a check of a forked chain again once if it failed with an error (not
 * a violation): a conflict (the other history met while fetching) closes
 * every session of the core at any moment — a read under way then fails
 * (SESSION_CLOSED, or a length of 0) — and the ledger opens it again on the
 * next use.
 */
async function againIfClosed (c: ChainModel, check: () => Promise<void>): Promise<void> {
  try {
    await check()
  } catch (err) {
    if (!c.forked || err instanceof InvariantViolation) throw err
    await check()
  }
}

/**
 * The first position a verification report refuses, or cannot check; `length`
 * if none. A problem of the whole chain refuses it all — except the tree
 * check of a copy still missing blocks (a replica mid-fetch): the roots
 * cannot be rebuilt without them, so that check says nothing, and the
 * missing blocks bound the answer instead.
 */
export function firstRefused (
  report: { readonly problems: ReadonlyArray<{ readonly seq: number | undefined, readonly code: string }> }, length: number
): number {
  const incomplete = report.problems.some((p) => p.code === 'MISSING_BLOCK')
  let first = length
  for (const problem of report.problems) {
    if (problem.seq === undefined && problem.code === 'TREE_MISMATCH' && incomplete) continue
    first = Math.min(first, problem.seq ?? 0)
  }
  return first
}

function describe (report: { readonly problems: ReadonlyArray<{ readonly seq: number | undefined, readonly code: string }> }): string {
  return report.problems.length === 0 ? 'no problem' : report.problems.map((p) => `${p.code}@${p.seq ?? 'chain'}`).join(', ')
}
