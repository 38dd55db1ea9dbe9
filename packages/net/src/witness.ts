/**
 * DEV DOCS — witnesses, `/healthchain/witness/1.0.0`.
 *
 * Regulators verify every head they see (heads.ts: gossip and heads-sync
 * heads are verified, chains fetched and re-checked by `UserChain.ingest`,
 * forks recorded) and cosign the consistent ones, as transparency-log
 * witnesses do. A client demands a quorum of cosignatures before it trusts
 * a head: a custodian that shows two histories to two sets of regulators
 * cannot gather a quorum for both unless witnesses break their promise.
 *
 * Witness side (WitnessService, on a node given its institution's signing
 * key pair). `consider(head)` cosigns a head only if, in this order:
 *   1. the head verifies (its custodian's signature, signer bound to the key);
 *   2. this institution is an active regulator in the current registry and
 *      the key pair given is the one the registry lists (a rotated-out key
 *      would make cosignatures nobody counts);
 *   3. the promise: a (chain, length) cosigned before is never cosigned with
 *      another root (CONFLICT) — same root: the earlier cosignature is the
 *      answer, unless it was made under a signing key since rotated out:
 *      then the same head goes through the checks below and is cosigned
 *      again with the current key (the promise, kept under any key, is one);
 *   4. the chain is not forked here (no fork proof);
 *   5. this node holds the chain, verified (every block re-checked, no
 *      problem) up to at least `head.length`;
 *   6. the head is its own replica's: same fork id, and the root equals the
 *      tree hash of the replica at `head.length` (for the replica's newest
 *      length that is exactly the head its stored head signature shows).
 * A cosignature is appended to the local core `local/cosignatures` (never
 * announced; one encoded Cosignature per block) and indexed there by (chain,
 * length), and only then handed out, so the promise of step 3 survives a
 * restart (cosignature-record.ts). Decisions run one at a time.
 *
 * Cosigning happens when asked: on each request the witness considers its
 * replica's current head, then answers its newest head and its cosignatures
 * of the chain (newest first, at most 16), each made again under the current
 * key if it was made under a rotated-out one. Admitted peers, and a user's
 * light peer about its own chain only (a phone demands a quorum before it
 * trusts a head: light-peer.ts); a light peer asking about another chain is
 * refused like a stranger.
 *
 * Client side (`headWithQuorum`): ask every active regulator the registry
 * lists (or the ones named), at once; keep each cosignature that verifies
 * against the signing key the current registry lists for its `witness`
 * (`verifyCosignature`, which checks the head too) and is of the chain
 * asked — never against a key the witness rotated out, so a stolen old key
 * stops counting as soon as the client holds the `rotate` entry; group by (length, root); the highest group with `quorum` distinct
 * witnesses wins, else NO_QUORUM.
 *
 * Memory: one cosignature is made per (chain, length) a client asked about
 * at a new length, so the record grows with the held chains' real lengths
 * (only chains held here and verified to that length are cosigned, step 5:
 * heads of made-up cores add nothing). It is on disk; in memory are only the
 * most recently used, at most `cosignaturesInMemory` (≈ 0.5 KB each): step 3
 * reads an older one from disk.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type Hypercore from 'hypercore'
import { bytesToHex, equal, type InstitutionId, type SigningKeyPair } from '@healthchain/core'
import type { Ledger, LocalCoreName } from '@healthchain/ledger'
import { CosignatureRecord, DEFAULT_COSIGNATURES_IN_MEMORY } from './cosignature-record.js'
import { NetError } from './errors.js'
import type { BaseHost, Host } from './host.js'
import type { MembershipGate } from './membership-gate.js'
import { cosign, verifyCosignature, type Cosignature } from './wire/cosignature.js'
import { readFrame, writeFrame } from './wire/framing.js'
import { headOf, verifyHead, type SignedHead } from './wire/head.js'
import {
  MAX_COSIGNATURES_PER_RESPONSE, MAX_WITNESS_REQUEST_BYTES, MAX_WITNESS_RESPONSE_BYTES, WITNESS_PROTOCOL,
  decodeWitnessRequest, decodeWitnessResponse, encodeWitnessRequest, encodeWitnessResponse,
  type WitnessRequest, type WitnessResponse
} from './wire/witness.js'

export const COSIGNATURES_CORE = 'local/cosignatures' satisfies LocalCoreName

/** What `consider` decided: `cosigned` (now or before) with the cosignature, or why not. */
export type WitnessVerdict =
  | { readonly cosigned: true, readonly cosignature: Cosignature }
  | { readonly cosigned: false, readonly reason: WitnessRefusal }

export type WitnessRefusal =
  /** The head does not verify. */
  | 'INVALID_HEAD'
  /** This node is not (now) an active regulator with the signing key it was given. */
  | 'NOT_WITNESS'
  /** This witness cosigned another root at this (chain, length). */
  | 'CONFLICT'
  /** The chain has a fork proof here. */
  | 'FORKED'
  /** The chain is not held here verified up to the head's length. */
  | 'NOT_VERIFIED'
  /** The replica here has another root (or fork id) at that length. */
  | 'NOT_OWN_HEAD'

export interface WitnessServiceComponents {
  readonly host: Host
  readonly ledger: Ledger
  readonly gate: MembershipGate
  /** Whether the chain with this key has a fork proof here (HeadsService.isForked). */
  readonly isForked: (chainKey: Uint8Array) => boolean
}

export interface WitnessServiceInit {
  /** The institution's signing key pair, as the registry lists it. */
  readonly signer: SigningKeyPair
  /** Per request served; default 10 s. */
  readonly timeoutMs?: number
  /** Cosignatures kept in memory, at most (default DEFAULT_COSIGNATURES_IN_MEMORY); the others are read from disk when asked. */
  readonly cosignaturesInMemory?: number
}

export interface WitnessStats {
  /** Cosignatures made (not counting ones answered again), requests served, refusals by reason, failed exchanges. */
  cosigned: number
  served: number
  readonly refused: Map<WitnessRefusal, number>
  failed: number
}

export class WitnessService {
  private readonly host: Host
  private readonly ledger: Ledger
  private readonly gate: MembershipGate
  private readonly isForked: (chainKey: Uint8Array) => boolean
  private readonly signer: SigningKeyPair
  private readonly timeoutMs: number
  private readonly cosignaturesInMemory: number
  /** Cosignatures made here: on disk, the most recently used in memory. */
  private record: CosignatureRecord | undefined
  /** The signing key (hex) each cosignature is known to verify under, so an answer re-checks none until a rotation. */
  private readonly signedWith = new WeakMap<Cosignature, string>()
  private core: Hypercore | undefined
  /** Decisions (and their writes) one at a time. */
  private deciding: Promise<unknown> = Promise.resolve()
  private readonly controller = new AbortController()
  private started = false
  readonly stats: WitnessStats = { cosigned: 0, served: 0, refused: new Map(), failed: 0 }

  constructor (components: WitnessServiceComponents, init: WitnessServiceInit) {
    this.host = components.host
    this.ledger = components.ledger
    this.gate = components.gate
    this.isForked = components.isForked
    this.signer = init.signer
    this.timeoutMs = init.timeoutMs ?? 10_000
    this.cosignaturesInMemory = init.cosignaturesInMemory ?? DEFAULT_COSIGNATURES_IN_MEMORY
  }

  async start (): Promise<void> {
    this.core = await this.ledger.localCore('local/cosignatures')
    this.record = await CosignatureRecord.open(this.core, this.ledger.crypto, this.cosignaturesInMemory)
    await this.host.handle(WITNESS_PROTOCOL, (stream, connection) => {
      this.serve(stream, connection).catch((err: unknown) => {
        this.stats.failed++
        stream.abort(err instanceof Error ? err : new Error('witness request failed'))
      })
    })
    this.started = true
  }

  /** This witness's cosignatures of a chain at `minLength` or more, newest first, at most `max` (none before `start`). */
  async cosignaturesOf (chainKey: Uint8Array, minLength = 0, max = MAX_COSIGNATURES_PER_RESPONSE): Promise<Cosignature[]> {
    return await this.record?.of(chainKey, minLength, max) ?? []
  }

  /** Cosignatures held in memory now (at most `cosignaturesInMemory`). */
  get cosignaturesHeld (): number { return this.record?.size ?? 0 }

  /** Decides whether to cosign `head` (see the DEV DOCS for the checks, in order); cosigns and persists it if so. */
  async consider (head: SignedHead): Promise<WitnessVerdict> {
    const run = this.deciding.then(async () => await this.decide(head))
    this.deciding = run.catch(() => {})
    const verdict = await run
    if (!verdict.cosigned) this.stats.refused.set(verdict.reason, (this.stats.refused.get(verdict.reason) ?? 0) + 1)
    return verdict
  }

  private async decide (head: SignedHead): Promise<WitnessVerdict> {
    const crypto = this.ledger.crypto
    const refuse = (reason: WitnessRefusal): WitnessVerdict => ({ cosigned: false, reason })
    if (this.controller.signal.aborted) throw new NetError('STOPPED', 'the witness service stopped')
    if (!verifyHead(head, crypto)) return refuse('INVALID_HEAD')
    const institution = this.ledger.institution
    const record = institution === undefined ? undefined : this.ledger.registry.state.institutionAt(institution)
    if (record?.role !== 'regulator' || record.status !== 'active' || !equal(record.sign, this.signer.publicKey)) return refuse('NOT_WITNESS')
    if (this.record === undefined) throw new NetError('STOPPED', 'the witness service has not started')
    const before = await this.record.at(head.key, head.length)
    if (before !== undefined) {
      if (!equal(before.head.root, head.root) || before.head.fork !== head.fork) return refuse('CONFLICT')
      // Made under a key since rotated out, it counts for nobody: the same head is cosigned again below, with the key the
      // registry lists now (the promise is the same one; the checks below still hold for a head cosigned before).
      if (this.underCurrentKey(before)) return { cosigned: true, cosignature: before }
    }
    if (this.isForked(head.key)) return refuse('FORKED')
    const user = this.ledger.userOfChain(head.key)
    if (user === undefined) return refuse('NOT_VERIFIED')
    const chain = await this.ledger.chain(user)
    if (chain.verifiedLength < head.length) return refuse('NOT_VERIFIED')
    if (chain.fork !== head.fork || !equal(await chain.treeHashAt(head.length), head.root)) return refuse('NOT_OWN_HEAD')
    const cosignature = cosign(head, institution!, this.signer.secretKey, crypto)
    this.signedWith.set(cosignature, bytesToHex(this.signer.publicKey))
    // The promise is on disk before the cosignature leaves this node. A later cosignature of the same head (made again under a
    // rotated key) takes over from the earlier one; one of another root never gets here (CONFLICT): the first promise stands.
    await this.record.add(cosignature)
    this.stats.cosigned++
    return { cosigned: true, cosignature }
  }

  /** The answer to a request: the replica's current head considered (cosigned if consistent), then what was cosigned. */
  async answer (request: WitnessRequest): Promise<WitnessResponse> {
    const minLength = request.minLength ?? 0
    let head: SignedHead | null = null
    const user = this.ledger.userOfChain(request.key)
    if (user !== undefined) {
      const chain = await this.ledger.chain(user)
      const own = chain.length === 0 ? undefined : await headOf(chain, this.ledger.crypto).catch(() => undefined)
      if (own !== undefined && chain.verifiedLength >= own.length) {
        if (own.length >= minLength) head = own
        await this.consider(own)
      }
    }
    return { v: 1, head, cosignatures: await this.current(await this.cosignaturesOf(request.key, minLength)) }
  }

  /**
   * The cosignatures answered, each under the signing key this witness has
   * now: one made before a rotation of its keys is made again (consider), so
   * a client counts this witness right after the rotation instead of only
   * once the chain grows. One that cannot be made again (this node no longer
   * holds the chain verified, or is no longer a witness) is answered as it
   * was; a client does not count it.
   */
  private async current (cosignatures: Cosignature[]): Promise<Cosignature[]> {
    const out: Cosignature[] = []
    for (const c of cosignatures) {
      if (this.underCurrentKey(c)) {
        out.push(c)
        continue
      }
      const verdict = await this.consider(c.head)
      out.push(verdict.cosigned ? verdict.cosignature : c)
    }
    return out
  }

  /** Whether `c` verifies under the signing key this witness has now. */
  private underCurrentKey (c: Cosignature): boolean {
    const key = bytesToHex(this.signer.publicKey)
    if (this.signedWith.get(c) === key) return true
    if (!verifyCosignature(c, this.signer.publicKey, this.ledger.crypto)) return false
    this.signedWith.set(c, key)
    return true
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const lightUser = this.gate.admits(connection.remotePeer) ? undefined : this.gate.lightUserOf(connection.remotePeer)
    if (this.controller.signal.aborted || (lightUser === undefined && !this.gate.admits(connection.remotePeer))) {
      stream.abort(new Error('witness request refused'))
      return
    }
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.timeoutMs)])
    const request = decodeWitnessRequest(await readFrame(stream, { maxBytes: MAX_WITNESS_REQUEST_BYTES, signal }))
    if (lightUser !== undefined && this.ledger.userOfChain(request.key) !== lightUser) {
      stream.abort(new Error('witness request refused'))
      return
    }
    await writeFrame(stream, encodeWitnessResponse(await this.answer(request)), { signal })
    await stream.close({ signal })
    this.stats.served++
  }

  async stop (): Promise<void> {
    if (this.started) await this.host.unhandle(WITNESS_PROTOCOL).catch(() => {})
    this.started = false
    this.controller.abort(new NetError('STOPPED', 'the witness service stopped'))
    await this.deciding
    await this.core?.close()
  }
}

// ------------------------------------------------------------------ client

export interface QuorumOptions {
  /** Distinct witnesses whose valid cosignatures a head needs. */
  readonly quorum: number
  /** Ask only these institutions (each must still be an active regulator); default every active regulator. */
  readonly witnesses?: readonly InstitutionId[]
  /** Per witness asked; default 10 s. */
  readonly timeoutMs?: number
  /** Only heads of at least this length. */
  readonly minLength?: number
  readonly signal?: AbortSignal
}

export interface QuorumHead {
  readonly head: SignedHead
  /** One valid cosignature per witness, at least `quorum`. */
  readonly cosignatures: Cosignature[]
}

/** What the client needs of a node (a NetworkNode has it all; a phone's LightPeer has host and ledger). */
export interface WitnessClientComponents {
  readonly host: BaseHost
  readonly ledger: Ledger
  /** This node's own witness service, answered locally when this node is one of the witnesses. */
  readonly witness?: WitnessService | undefined
}

/** One request to one witness (dial, request, response), within `signal`. */
export async function askWitness (host: BaseHost, peer: string, request: WitnessRequest, signal: AbortSignal): Promise<WitnessResponse> {
  const stream = await host.dialProtocol(peerIdFromString(peer), WITNESS_PROTOCOL, { signal })
  let bytes: Uint8Array
  try {
    await writeFrame(stream, encodeWitnessRequest(request), { signal })
    bytes = await readFrame(stream, { maxBytes: MAX_WITNESS_RESPONSE_BYTES, signal })
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error('witness request failed'))
    throw err
  }
  await stream.close({ signal }).catch(() => { stream.abort(new Error('witness stream not closed')) })
  return decodeWitnessResponse(bytes)
}

/**
 * The highest head of `chainKey` with valid cosignatures from at least
 * `quorum` distinct witnesses (active regulators of the current registry),
 * or NO_QUORUM saying how many the best head got.
 */
export async function headWithQuorum (node: WitnessClientComponents, chainKey: Uint8Array, opts: QuorumOptions): Promise<QuorumHead> {
  const { quorum } = opts
  if (!Number.isSafeInteger(quorum) || quorum < 1) throw new NetError('INVALID_FIELD', 'quorum is a positive integer', { field: 'quorum' })
  const state = node.ledger.registry.state
  const named = opts.witnesses === undefined ? undefined : new Set<string>(opts.witnesses)
  const witnesses = state.institutions().filter((r) => r.role === 'regulator' && r.status === 'active' && (named?.has(r.id) ?? true))
  const request: WitnessRequest = opts.minLength === undefined ? { v: 1, key: chainKey } : { v: 1, key: chainKey, minLength: opts.minLength }
  const signal = AbortSignal.any([AbortSignal.timeout(opts.timeoutMs ?? 10_000), ...(opts.signal === undefined ? [] : [opts.signal])])
  const self = node.host.peerId.toString()
  const answers = await Promise.allSettled(witnesses.map(async (w) => {
    if (w.peer === undefined) throw new NetError('NO_PEER', 'the registry names no peer for this witness')
    if (w.peer === self && node.witness !== undefined) return await node.witness.answer(request)
    return await askWitness(node.host, w.peer, request, signal)
  }))
  if (opts.signal?.aborted === true) throw new NetError('STOPPED', 'asking the witnesses was aborted')

  // (length, root) → witness → its cosignature; only cosignatures that verify against the registry's key.
  const groups = new Map<string, Map<string, Cosignature>>()
  const byId = new Map(witnesses.map((w) => [w.id as string, w]))
  for (const answer of answers) {
    if (answer.status !== 'fulfilled') continue
    for (const c of answer.value.cosignatures) {
      const record = byId.get(c.witness)
      if (record === undefined || !equal(c.head.key, chainKey) || c.head.length < (opts.minLength ?? 0)) continue
      if (!verifyCosignature(c, record.sign, node.ledger.crypto)) continue
      const id = `${c.head.length}:${bytesToHex(c.head.root)}`
      let group = groups.get(id)
      if (group === undefined) groups.set(id, group = new Map())
      if (!group.has(c.witness)) group.set(c.witness, c)
    }
  }
  let best: Cosignature[] = []
  for (const group of groups.values()) {
    const cs = [...group.values()]
    const length = cs[0]!.head.length
    const bestLength = best[0]?.head.length ?? -1
    const better = cs.length >= quorum
      ? best.length < quorum || length > bestLength
      : best.length < quorum && (cs.length > best.length || (cs.length === best.length && length > bestLength))
    if (better) best = cs
  }
  if (best.length >= quorum) return { head: best[0]!.head, cosignatures: best }
  const answered = answers.filter((a) => a.status === 'fulfilled').length
  throw new NetError('NO_QUORUM',
    `no head has ${quorum} cosignatures: the best has ${best.length} (${answered} of ${witnesses.length} witnesses answered)`)
}
