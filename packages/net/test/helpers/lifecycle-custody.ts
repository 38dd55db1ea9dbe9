/**
 * Custody in the lifecycle world: the user moves a chain to the other
 * examiner (a continuation core), the old custodian writes on the core the
 * chain left, and the user rotates their keys (a rekey from the phrase's
 * next generation) — and the invariants about them:
 *   I10 after a move, every node serves nothing of the old core beyond N
 *       (its head log, heads-sync's source, holds no longer head; a node that
 *       closed the core closed it at N, naming the continuation); a rogue
 *       append there is flagged by every node but its writer (a fork proof
 *       naming the old custodian); once quiet, every node that holds the
 *       chain holds the same continuation, and it verifies whole across its
 *       segments;
 *   I11 every user entry served verifies for its segment's key with the
 *       generation in force at its position (nothing signed with a
 *       rotated-out key after the rekey is accepted), and every sealed exam
 *       opens for the user with the generation it was sealed to.
 * Acknowledged writes across a move are I3's: the new custodian's chain
 * holds each at its position.
 */
import {
  buildExam, buildMigrate, buildRekey, buildUserEntry, bytesToHex, encodeEntry, equal, isRecipient, openSealed, signEntry, userKeysFromPhrase,
  verifyEntrySignature, type Entry, type InstitutionId
} from '@healthchain/core'
import { HEADS_TOPIC, encodeHeadsAnnouncement, headOf } from '@healthchain/net'
import { crypto, waitFor } from '@healthchain/net/testing'
import { rm } from 'node:fs/promises'
import { InvariantViolation, keyAt, NODES, userNow, type ChainModel, type Examiner, type LifecycleWorld, type NodeName } from './lifecycle-world.js'

/** How the old custodian stands while its chain moves: up, stopped, stopped with its data directory deleted, or suspended by governance. */
export type Handover = 'live' | 'stopped' | 'lost' | 'suspended'

/** What the custodian answers a user entry signed with a key the chain's rekey rotated out. */
const ROTATED_OUT = 'BAD_SIGNATURE'

export class CustodySteps {
  private readonly w: LifecycleWorld
  /** Sealed exams the user already opened (an entry id each). */
  private readonly opened = new Set<string>()
  /** Closed cores a custodian wrote on after the chain left them, and who. */
  private readonly rogues: Array<{ readonly chain: number, readonly key: Uint8Array, readonly custodian: Examiner }> = []

  constructor (w: LifecycleWorld) {
    this.w = w
  }

  /** The examiner a chain moves to: the other one. */
  static target (c: ChainModel): Examiner { return c.custodian === 'hospital-a' ? 'hospital-b' : 'hospital-a' }

  /** Whether the chain may move now, the old custodian standing as `how` says. */
  canTransfer (i: number, how: Handover): boolean {
    const c = this.w.chains[i]!
    if (c.lied || c.forked || !this.w.up.has(c.custodian) || !this.w.up.has(CustodySteps.target(c))) return false
    // Not the registry's host: suspended, its peers drop it, and with it the registry that would reinstate it.
    if (how === 'suspended') return c.custodian !== 'hospital-a'
    if (how !== 'lost') return true
    // A lost custodian's directory goes with everything in it: only hospital-b (not the registry's host), and only if it keeps no other chain.
    return c.custodian === 'hospital-b' && this.w.chains.every((other) => other === c || other.custodian !== 'hospital-b')
  }

  /**
   * The user moves chain `i` to the other examiner, as the HTTP route does:
   * once the target holds the chain complete, its ledger's offer, the user's
   * migrate signed with the key in force for (continuation key, N),
   * continueChain there. The old custodian is up, stopped first, lost
   * (stopped and its data directory deleted), or suspended for the move.
   */
  async transfer (i: number, how: Handover): Promise<void> {
    const w = this.w
    w.record(`await w.transfer(${i}, '${how}')`)
    if (!this.canTransfer(i, how)) return
    const c = w.chains[i]!
    const from = c.custodian
    const to = CustodySteps.target(c)
    const old = (await w.chainAt(from, c))!
    await old.settled()
    const length = old.length
    try {
      await waitFor(async () => {
        const copy = await w.chainAt(to, c)
        return copy !== undefined && equal(copy.key, c.chainKey) && copy.verifiedLength === length
      }, `${to} to hold chain ${i} complete`, 20_000)
    } catch {
      throw new InvariantViolation('I4', `${to} does not reach chain ${i}'s ${length} positions from its custodian ${from}, both up`)
    }
    if (how === 'stopped' || how === 'lost') {
      await w.net.stop(from)
      w.up.delete(from)
      await w.net.closeLedger(from)
      if (how === 'lost') await rm(w.net.dirOf(from), { recursive: true, force: true })
    }
    if (how === 'suspended') await w.net.setStatus(from, 'suspend')
    try {
      const ledger = await w.net.ledger(to)
      const offer = await ledger.offerContinuation(c.user.userId)
      if (offer.length !== length) throw new InvariantViolation('I3', `${to} offers chain ${i} moved at ${offer.length}, not at its custodian's ${length}`)
      const migrate = signEntry(buildMigrate(offer.plain, {}, crypto), { chainKey: offer.key, seq: offer.length }, userNow(c).sign.secretKey, crypto)
      const chain = await ledger.continueChain(c.user.userId, migrate)
      c.moved.push({ key: c.chainKey, length, custodian: from })
      c.chainKey = chain.key
      c.custodian = to
      w.acked(c, length, migrate)
      if (w.up.has(to)) w.net.node(to).heads.announce(c.user.userId)
      w.stats.transfers++
    } finally {
      if (how === 'suspended') {
        await w.net.setStatus(from, 'reinstate')
        // Its peers dropped it while it was suspended, and it does not come back by itself (seen: still cut off after 20 s,
        // reported): its operator restarts it.
        if (w.up.has(from)) {
          await w.net.stop(from)
          await w.net.start(from)
        }
      }
    }
    for (const id of NODES) if (w.up.has(id)) await this.follows(id)
  }

  /**
   * Waits until node `id` holds every moved chain as its current
   * continuation (when that chain's custodian is up to serve it). A move
   * ends when the network has heard of it: an old custodian that has not
   * still appends to the core the chain left (see the report of the run
   * that found it), so the world lets nobody write through a node before.
   */
  async follows (id: NodeName): Promise<void> {
    for (const c of this.w.chains) {
      if (c.moved.length === 0 || !this.w.up.has(c.custodian)) continue
      const on = async (): Promise<boolean> => {
        const copy = await this.w.chainAt(id, c)
        return copy === undefined || equal(copy.key, c.chainKey)
      }
      try {
        await waitFor(on, `${id} to follow chain ${c.index}'s continuation`, 20_000)
      } catch {
        const copy = await this.w.chainAt(id, c)
        const held = c.moved.findIndex((core) => copy !== undefined && equal(core.key, copy.key))
        throw new InvariantViolation('I10', `${id} does not follow chain ${c.index} to its continuation at ${c.custodian}, both up ` +
          `(it holds core ${held} of ${c.moved.length} it moved from, ${copy?.length ?? 0} long, verified ${copy?.verifiedLength ?? 0}; ` +
          `fetches failed: ${JSON.stringify(Object.fromEntries(this.w.net.node(id).heads.stats.fetch.failed))})`)
      }
      this.w.stats.checks++
    }
  }

  /** Whether the custodian a chain last moved from can write on the core it left (and announce it). */
  canRogue (i: number): boolean {
    const last = this.w.chains[i]!.moved.at(-1)
    return last !== undefined && this.w.up.has(last.custodian)
  }

  /**
   * The custodian chain `i` last moved from appends a valid exam to the old
   * core past N (raw, its own key) and announces the head. Every other node
   * must refuse it and flag the custodian (a fork proof of the old core);
   * the chain they serve stays the continuation (I3, I4, I10 at every check).
   */
  async rogue (i: number): Promise<void> {
    const w = this.w
    w.record(`await w.rogue(${i})`)
    if (!this.canRogue(i)) return
    const c = w.chains[i]!
    const last = c.moved.at(-1)!
    const ledger = await w.net.ledger(last.custodian)
    const core = ledger.coreSession(last.key)
    let head
    try {
      await core.ready()
      // A custodian whose directory was lost holds no key for the old core any more.
      if (!core.writable) return
      const author = w.keys.now(last.custodian)
      const rogue = signEntry(buildExam({
        author: author.id as InstitutionId,
        reg: ledger.registry.length,
        chainKey: last.key,
        plain: { title: `After the move ${w.stats.steps}`, observations: [] },
        sealed: { notes: 'written by a custodian the chain left' },
        recipients: [userNow(c).box.publicKey, author.keys.box.publicKey]
      }, crypto), { chainKey: last.key, seq: core.length }, author.keys.sign.secretKey, crypto)
      await core.append(encodeEntry(rogue))
      head = await headOf(core)
    } finally {
      await core.close()
    }
    // Only this gossip message carries the rogue head (the writer logs nothing of a core it closed, so heads-sync never serves it), and
    // a node publishes to no one until its peers' subscriptions reach it: the writer may have just restarted (a suspended custodian).
    const writer = w.net.node(last.custodian).host.services.pubsub
    const readers = NODES.filter((id) => id !== last.custodian && w.up.has(id)).map((id) => w.net.node(id).peerId)
    await waitFor(() => readers.every((peer) => writer.getSubscribers(HEADS_TOPIC).map(String).includes(peer)), `${last.custodian} to see its peers subscribed`)
    // Seeing a subscription is not yet being in the writer's mesh: a node just restarted may publish to nobody, and gossipsub does not
    // resend. A rogue that wants its head taken says it again (every 2 s here) until heard; what is checked is what the others do then.
    const announce = async (): Promise<void> => {
      await writer.publish(HEADS_TOPIC, encodeHeadsAnnouncement({ v: 1, heads: [head] })).catch(() => {})
    }
    await announce()
    const again = setInterval(() => { void announce() }, 2_000)
    w.stats.rogues++
    this.rogues.push({ chain: i, key: last.key, custodian: last.custodian })
    const others = NODES.filter((id) => id !== last.custodian && w.up.has(id))
    try {
      await waitFor(() => others.every((id) => this.flags(id, last.key, last.custodian)), 'every node to flag the rogue append', 20_000)
    } catch {
      throw new InvariantViolation('I10', `${last.custodian}'s append to chain ${i}'s closed core is flagged by ${others.filter((id) => this.flags(id, last.key, last.custodian)).join(', ') || 'no node'} only`)
    } finally {
      clearInterval(again)
    }
    w.stats.checks += others.length
  }

  private flags (id: NodeName, key: Uint8Array, custodian: Examiner): boolean {
    const hex = bytesToHex(key)
    return this.w.net.node(id).heads.forkedChains().some((f) => f.chain === hex && f.custodian === custodian)
  }

  /** The user reveals the next generation of their keys (from the phrase) in a rekey, signed by the revealed key. */
  async rekey (i: number): Promise<void> {
    const w = this.w
    w.record(`await w.rekey(${i})`)
    const c = w.chains[i]!
    const generation = c.generations.length
    const keys = userKeysFromPhrase(c.phrase, crypto, generation)
    const unsigned = buildRekey(generation, keys, userKeysFromPhrase(c.phrase, crypto, generation + 1), {}, crypto)
    const sign = (seq: number): Entry => signEntry(unsigned, { chainKey: c.chainKey, seq }, keys.sign.secretKey, crypto)
    const seq = await w.atCustodian(c, sign)
    // A rekey whose outcome is unknown (a timeout) may stand all the same: the custodian's chain says.
    const at = seq ?? await this.positionOf(c, bytesToHex(unsigned.id))
    if (at === undefined) return
    w.acked(c, at, sign(at))
    c.rekeys.push(at)
    c.generations.push(keys)
    w.stats.rekeys++
  }

  private async positionOf (c: ChainModel, id: string): Promise<number | undefined> {
    const chain = (await this.w.chainAt(c.custodian, c))!
    await chain.settled()
    return (await chain.read({ start: 0, end: chain.length })).find(({ entry }) => bytesToHex(entry.id) === id)?.seq
  }

  /** The user's device, with the generation the rekey rotated out, writes exercise data: the custodian must refuse it. */
  async staleUserEntry (i: number): Promise<void> {
    const w = this.w
    w.record(`await w.staleUserEntry(${i})`)
    const c = w.chains[i]!
    const old = c.generations.at(-2)
    if (old === undefined) return
    const start = Date.now() - 3_600_000
    const unsigned = buildUserEntry('exercise', { start, end: start + 60_000, observations: [{ code: '55423-8', value: 1, unit: '{steps}' }] }, {}, crypto)
    const sign = (seq: number): Entry => signEntry(unsigned, { chainKey: c.chainKey, seq }, old.sign.secretKey, crypto)
    const seq = await w.atCustodian(c, sign, ROTATED_OUT)
    w.stats.checks++
    if (seq !== undefined) throw new InvariantViolation('I11', `chain ${i}: ${c.custodian} acknowledged at ${seq} a user entry signed with the rotated-out generation ${c.generations.length - 2}`)
  }

  // ------------------------------------------------------------ invariants

  /** The user's generation in force at `seq`: a rekey at p is signed by the generation it reveals. */
  private generationAt (c: ChainModel, seq: number): number {
    return c.rekeys.filter((p) => p <= seq).length
  }

  /** I11 for one entry served as valid at `seq`: a user's entry verifies with the generation in force there, for its segment's key. */
  userEntryProblem (c: ChainModel, entry: Entry, seq: number): string | undefined {
    if (entry.author !== 'user') return undefined
    const generation = this.generationAt(c, seq)
    const keys = c.generations[generation]
    if (keys === undefined) return `${entry.type} ${seq} by the user, at a generation (${generation}) the user never revealed`
    if (!verifyEntrySignature(entry, { chainKey: keyAt(c, seq), seq }, keys.sign.publicKey, crypto)) {
      return `${entry.type} ${seq} by the user does not verify with generation ${generation}, the one in force there`
    }
    return undefined
  }

  /** I11 for one sealed exam served as valid: the user opens it with the generation it was sealed to. */
  userSealProblem (c: ChainModel, entry: Entry, seq: number): string | undefined {
    if (entry.type !== 'exam' || entry.sealed === undefined) return undefined
    const id = bytesToHex(entry.id)
    if (this.opened.has(id)) return undefined
    const keys = c.generations.find((g) => isRecipient(entry.sealed!, g.box.publicKey))
    if (keys === undefined) return `exam ${seq} is sealed for none of the user's generations`
    try {
      openSealed(entry.sealed, keys.box, { chainKey: keyAt(c, seq), entryId: entry.id }, crypto)
    } catch (err) {
      return `exam ${seq} does not open for the user: ${(err as { code?: string }).code ?? String(err)}`
    }
    this.opened.add(id)
    return undefined
  }

  /** I10 on one node: nothing of a core the chain left beyond where it left it. */
  async oldCoresProblem (id: NodeName, c: ChainModel): Promise<string | undefined> {
    const ledger = await this.w.net.ledger(id)
    for (const [k, core] of c.moved.entries()) {
      const hex = bytesToHex(core.key)
      this.w.stats.checks++
      const logged = this.w.up.has(id) ? this.w.net.node(id).heads.log.get(hex)?.length ?? 0 : 0
      if (logged > core.length) return `${id} logs (and serves by heads-sync) a head of ${logged} for chain ${c.index}'s core ${k}, closed at ${core.length}`
      const closed = ledger.closedChain(core.key)
      if (closed !== undefined && closed.length !== core.length) return `${id} closed chain ${c.index}'s core ${k} at ${closed.length}, not ${core.length}`
      const successor = c.moved[k + 1]?.key ?? c.chainKey
      if (closed !== undefined && !equal(closed.successor, successor)) return `${id} names another successor of chain ${c.index}'s core ${k}`
    }
    return undefined
  }

  /** I10 once quiet: every node holds the chain as its current continuation, verified whole, and flags every rogue append. */
  async settledProblem (id: NodeName, c: ChainModel): Promise<string | undefined> {
    const chain = await this.w.chainAt(id, c)
    if (chain === undefined) return `${id} holds no copy of chain ${c.index}`
    if (!equal(chain.key, c.chainKey)) return `${id} holds chain ${c.index} as another core than its custodian's continuation`
    const report = await (await this.w.net.ledger(id)).verify(c.user.userId)
    if (!report.valid) return `${id}'s copy of chain ${c.index} does not verify whole: ${report.problems.map((p) => `${p.code}@${p.seq ?? 'chain'}`).join(', ')}`
    return undefined
  }

  /** I10 once quiet, on one node: every rogue append the node did not write itself is flagged there. */
  rogueProblem (id: NodeName): string | undefined {
    for (const r of this.rogues) {
      if (r.custodian === id) continue
      this.w.stats.checks++
      if (!this.flags(id, r.key, r.custodian)) return `${id} does not flag ${r.custodian}'s append to chain ${r.chain}'s closed core`
    }
    return undefined
  }
}
