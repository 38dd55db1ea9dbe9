/**
 * Moving the user's chain to another examiner, from the phone
 * (PhoneClient.transfer):
 *
 *   1. the target must be an active examiner in the registry this device
 *      has (UNKNOWN_EXAMINER, NOT_AN_EXAMINER), and not the custodian now;
 *   2. the device syncs, then dials the target's node (by the registry's
 *      peer id and addresses) and asks it for the offer over
 *      `/healthchain/continuation/1.0.0`;
 *   3. the offer is checked against the chain this device verified, never
 *      taken on the node's word: first as any device checks one (checkOffer:
 *      core's checkMigrate — the old custodian's head signature over `from`,
 *      N, the prologue —, `to` the target, the first core's genesis signed
 *      by the user), then `from` this device's chain key, N within what the
 *      device verified, the prologue its own tree hash at N, the lineage its
 *      own chain's (NOT_OWN_CHAIN, field `offer`, otherwise);
 *   4. the migrate is signed with the user's key in force for (the
 *      continuation key, N) and sent; the node writes the continuation
 *      (a refusal is REFUSED with the node's code);
 *   5. the device follows the continuation (ChainSync.follow): fetched up
 *      to its migrate, verified whole by the device's ledger, then it is
 *      the device's chain and the outbox is signed for it from then on.
 *
 * Nothing on the device changes before step 5: a refused transfer leaves it
 * as it was.
 */
import { buildMigrate, encodeCanonical, equal, signEntry, type CryptoProvider, type Entry, type InstitutionId, type UserKeys } from '@healthchain/core'
import type { Ledger } from '@healthchain/ledger'
import { askOffer, NetError, sendMigrate, type LightPeer, type OfferedContinuation } from '@healthchain/net'
import { registeredExaminer } from './argument-checks.js'
import type { ChainSync } from './chain-sync.js'
import { checkOffer } from './custody-writes.js'
import { ClientError } from './errors.js'

export interface TransferComponents {
  readonly peer: LightPeer
  readonly ledger: Ledger
  readonly crypto: CryptoProvider
  readonly chains: ChainSync
  /** The user's generation-0 keys: the user id, and the key the chain's genesis is signed with. */
  readonly user: UserKeys
  /** The user's keys in force now (the generation the chain's last rekey revealed): they sign the migrate. */
  readonly keys: () => UserKeys
  /** Brings the device up to its custodian's copy first (PhoneClient.sync). */
  readonly sync: () => Promise<unknown>
}

export interface TransferResult {
  /** The continuation core: the user's chain key from now on. */
  readonly chainKey: Uint8Array
  /** N: where the old core was closed, and the migrate's position. */
  readonly length: number
  readonly from: Uint8Array
  readonly custodian: InstitutionId
}

const OFFER_TIMEOUT_MS = 60_000

export async function transferChain (c: TransferComponents, to: string, opts: { timeoutMs?: number } = {}): Promise<TransferResult> {
  const user = c.user.userId
  const record = registeredExaminer(c.ledger, to, { active: true })
  if (!c.ledger.hasChain(user)) throw new ClientError('NOT_SYNCED', 'this device holds no copy of the chain yet: sync first')
  if ((await c.ledger.chain(user)).user?.custodian === record.id) {
    throw new ClientError('INVALID_INPUT', `${record.id} is the chain's custodian already`, { field: 'to' })
  }
  if (record.peer === undefined) throw new ClientError('NOT_CONNECTED', `the registry names no node of ${record.id}`, { field: 'to' })
  await c.sync()
  await reach(c, record.peer, record.addrs)
  const timeoutMs = opts.timeoutMs ?? OFFER_TIMEOUT_MS
  const peer = record.peer
  let offer: OfferedContinuation
  try {
    offer = await askOffer(c.peer.host, peer, { timeoutMs })
  } catch (err) {
    throw asClientError(err, 'asking for the offer failed')
  }
  await assertOffer(c, offer, record.id)
  const keys = c.keys()
  const migrate: Entry = signEntry(buildMigrate(offer.plain, {}, c.crypto), { chainKey: offer.key, seq: offer.length }, keys.sign.secretKey, c.crypto)
  let moved: { key: Uint8Array, length: number }
  try {
    moved = await sendMigrate(c.peer.host, peer, migrate, { timeoutMs })
  } catch (err) {
    throw asClientError(err, 'sending the migrate failed')
  }
  if (!equal(moved.key, offer.key) || moved.length !== offer.length) {
    throw new ClientError('NOT_OWN_CHAIN', 'the node answered another continuation than the one it offered', { field: 'offer' })
  }
  await c.chains.follow(offer.key, timeoutMs)
  return { chainKey: offer.key, length: offer.length, from: offer.plain.from, custodian: record.id }
}

/**
 * The offer is for this device's chain at a head it verified, to `to`: else NOT_OWN_CHAIN (field `offer`). What any
 * device checks (custody-writes.ts's checkOffer: a migrate whose old head verifies, to `to`, continuing the chain whose
 * genesis the user signed) first; then what needs the chain held here: its key, a length it verified, its tree hash
 * there, its lineage.
 */
async function assertOffer (c: TransferComponents, offer: OfferedContinuation, to: InstitutionId): Promise<void> {
  const chain = await c.ledger.chain(c.user.userId)
  const { plain } = offer
  const wrong = (why: string, cause?: unknown): ClientError =>
    new ClientError('NOT_OWN_CHAIN', `the node's offer does not continue this device's chain: ${why}`, { field: 'offer', ...(cause === undefined ? {} : { cause }) })
  const genesis = await chain.get(0)
  if (genesis === null) throw wrong('this device does not hold its genesis')
  try {
    checkOffer(offer, c.user, to, genesis, c.crypto)
  } catch (err) {
    throw wrong(err instanceof Error ? err.message : 'it fails the offer checks', err)
  }
  if (!equal(plain.from, chain.key)) throw wrong('another chain key')
  if (plain.length > chain.verifiedLength) throw wrong(`its length ${plain.length} is beyond what this device verified`)
  if (!equal(plain.prologue, await chain.treeHashAt(plain.length))) throw wrong('another history at that length')
  const lineage = chain.layout.lineage.map((l) => ({ key: new Uint8Array(l.key), length: l.length, prologue: new Uint8Array(l.prologue) }))
  if (!equal(encodeCanonical(lineage), encodeCanonical(plain.lineage))) throw wrong('another lineage')
}

/** Dials `peer` unless connected: by the registry's addresses. NOT_CONNECTED if none answers. */
async function reach (c: TransferComponents, peer: string, addrs: readonly string[]): Promise<void> {
  if (c.peer.host.getConnections().some((conn) => conn.remotePeer.toString() === peer)) return
  for (const address of addrs.map((a) => a.includes('/p2p/') ? a : `${a}/p2p/${peer}`)) {
    try {
      await c.peer.connect(address)
      return
    } catch {
      // Try the next address.
    }
  }
  throw new ClientError('NOT_CONNECTED', 'the examiner\'s node could not be reached', { field: 'to' })
}

function asClientError (err: unknown, what: string): ClientError {
  if (err instanceof NetError) {
    if (err.code === 'REFUSED') return new ClientError('REFUSED', err.message, { remoteCode: err.remoteCode, cause: err })
    if (err.code === 'TIMEOUT') return new ClientError('TIMEOUT', `${what}: no answer in time`, { cause: err })
    if (err.code === 'STOPPED') return new ClientError('CLOSED', 'the client stopped', { cause: err })
  }
  return new ClientError('NETWORK', what, { cause: err })
}
