/**
 * User login by a signed challenge (wire format version 1).
 *
 * 1. The user asks for a challenge for their user id; the node answers with
 *    a 32-byte nonce (hex) that expires after a short time
 *    (`auth.challengeTtlSeconds`, default 2 minutes).
 * 2. The user signs, with the Ed25519 key of their genesis,
 *
 *      "healthchain/v1/login" 0x00 ‖ len (1 byte) ‖ node ‖ nonce (32)
 *
 *    where `node` is the UTF-8 institution id of the node being logged in to
 *    (its `name` in the config, as the registry lists it; 3–64 bytes, hence
 *    the one-byte length, which keeps the layout unambiguous).
 * 3. The node checks that it issued the nonce for this user and that it has
 *    not expired, consumes it (so it is used at most once, whatever the
 *    outcome), looks up the user's public key, and verifies under
 *    libsodium's rule (the project's CryptoProvider).
 *
 * The nonce is opaque to clients; inside, it is
 *
 *      expiresAt (u64 BE, ms) ‖ random (8) ‖ HMAC-SHA256(secret,
 *        "healthchain/v1/login-challenge" 0x00 ‖ user id ‖ expiresAt ‖ random)[0..16]
 *
 * with a secret drawn when the store is made (challenges do not outlive the
 * process; they live minutes). Issuing therefore keeps no state: a table of
 * issued challenges, which anyone may ask for without logging in, could be
 * filled until real users were refused (a flood of 10,000 requests did so
 * for two minutes). What is kept is the nonces consumed, per user known
 * here: the successful ones until they expire (replay), and at most
 * MAX_FAILED_PER_USER failed ones, the oldest forgotten first. A forgotten
 * failed nonce could be used again within its lifetime, but only with the
 * user's own signature over it; the residual case is a login refused
 * because someone spent its nonce first, its signature captured in transit
 * and replayed after 32 more failures within the two minutes — the API is
 * for the institution's own network, and capping failures instead would let
 * anyone lock a known user out. Attempts for users not known here, or whose
 * key lookup failed, consume nothing and keep nothing.
 *
 * Who is known here is nobody's business but the node's: once the nonce
 * checks out, every refusal — a user not known here, a wrong signature, a
 * challenge already used (which only a known user's nonces can be) — is the
 * same LOGIN_REFUSED with the same message; the real reason travels as the
 * error's `reason`, for the audit log only. The work is the same too: a user
 * not known here has the signature verified against a fixed stand-in key
 * (libsodium's verification costs the same for any valid key), and every
 * such refusal is answered no sooner than `refusalFloorMs` after the attempt
 * began, which hides the one step that does differ — reading a known user's
 * key, which may open their chain from disk (measured here at ~0.5 ms more
 * per login at the median, several ms in the tail), while an unknown user is
 * known at once. Only a signature by the user's own key is answered sooner.
 *
 * Why the institution id and not the libp2p peer id: it is what the user's
 * device knows the node by (from the registry and the user's own genesis,
 * which names the custodian) and it does not change when the node's libp2p
 * key is rotated; either binds a signature to one node, so a challenge
 * relayed from node A and signed for node B is refused at A. The client
 * must put in the institution it means to log in to, not one the server
 * names: a signature for "hospital-a" is worth nothing at "hospital-b".
 *
 * The challenge also names the generation of the user's key in force here
 * (0 until a rekey; the chain shows it to anyone who holds it), so a client
 * derives that generation's keys from the phrase and signs once: trying
 * generations in turn would spend a refused login on each. A user not known
 * here is answered generation 0, as one who never rotated, and every
 * challenge is answered no sooner than the refusal floor after it was asked
 * for, which hides reading a known user's chain as it does at a refusal.
 *
 * Refusals: UNKNOWN_CHALLENGE (never issued, issued for another user, or
 * expired: none of it depends on the user), LOGIN_REFUSED (with `reason`
 * BAD_SIGNATURE, UNKNOWN_USER when no key is known for the user id, or
 * UNKNOWN_CHALLENGE when the nonce was already used). Known-answer vectors:
 * node/test/vectors/login.json.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  bytesToHex, domainTag, fromHex, isInstitutionId, utf8ToBytes,
  type CryptoProvider, type InstitutionId, type UserId
} from '@healthchain/core'
import { NodeError, type RefusalReason } from '../errors.js'
import { LOGIN_NONCE_BYTES, loginMessage } from '../api/login.js'

// The login message is part of the API contract (a browser signs it too); re-exported where it always was.
export { LOGIN_DOMAIN, LOGIN_NONCE_BYTES, LOGIN_VERSION, loginMessage, signLogin } from '../api/login.js'

/** Failed attempts remembered per user (consumed nonces); older ones are forgotten first. */
export const MAX_FAILED_PER_USER = 32
const CHALLENGE_MAC_DOMAIN = domainTag('healthchain/v1/login-challenge')
const NONCE_RANDOM_BYTES = 8
const NONCE_MAC_BYTES = 16
/**
 * How soon at the earliest a refused user login is answered, in ms. Far above what reading a known user's key takes
 * (a chain opened from disk: ~1 ms, tens under load), far below what a person notices; it costs a timer, not work.
 */
export const LOGIN_REFUSAL_FLOOR_MS = 100
/** Seed of the stand-in key a signature is verified against when no key is known for the user: fixed, and nobody's. */
const STAND_IN_SEED = createHash('sha256').update('healthchain/v1/login-stand-in-key').digest()

/** The user's Ed25519 public key (from their genesis), or undefined when this node knows none. */
export type LookupUserKey = (userId: UserId) => Uint8Array | undefined | Promise<Uint8Array | undefined>

/** The generation of the user's key in force (0 until a rekey), or undefined when this node knows none. */
export type LookupUserGeneration = (userId: UserId) => number | undefined | Promise<number | undefined>

export interface IssuedChallenge {
  /** The nonce, 64 lowercase hex characters. */
  readonly challenge: string
  /** Milliseconds since the epoch. */
  readonly expiresAt: number
}

export interface UserChallenge extends IssuedChallenge {
  /** The generation whose key must sign: the one in force here, 0 for a user not known here. */
  readonly generation: number
}

export interface ChallengeResponse {
  readonly userId: UserId
  /** The nonce as issued (hex). */
  readonly challenge: string
  /** 64-byte Ed25519 signature over loginMessage(node, nonce). */
  readonly signature: Uint8Array
}

export interface ChallengeStoreComponents {
  readonly crypto: CryptoProvider
  readonly lookupUserKey: LookupUserKey
  /** Without it, every challenge names generation 0 (a node that cannot tell, or users who never rotate). */
  readonly lookupUserGeneration?: LookupUserGeneration
}

export interface ChallengeStoreInit {
  /** The node's institution id: the audience every signature must name. */
  readonly node: InstitutionId
  readonly ttlMs: number
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number
  /**
   * A refused login (once its nonce checked out), and a challenge naming a generation, is answered no sooner than this
   * after it began; default LOGIN_REFUSAL_FLOOR_MS.
   */
  readonly refusalFloorMs?: number
  /** Waits `ms`; injectable for tests. */
  readonly sleep?: (ms: number) => Promise<unknown>
}

interface Consumed {
  readonly expiresAt: number
  succeeded: boolean
}

export class ChallengeStore {
  readonly node: InstitutionId
  private readonly components: ChallengeStoreComponents
  private readonly ttlMs: number
  private readonly now: () => number
  private readonly refusalFloorMs: number
  private readonly sleep: (ms: number) => Promise<unknown>
  /** Verified against when no key is known for the user, so that costs what a known user's refusal does. */
  private readonly standInKey: Uint8Array
  /** Keys the nonces' MACs; never leaves this object. */
  private readonly secret = randomBytes(32)
  /** Nonces consumed, by user (only users known here), each in the order consumed. */
  private readonly consumed = new Map<UserId, Map<string, Consumed>>()
  private verifications = 0

  constructor (components: ChallengeStoreComponents, init: ChallengeStoreInit) {
    if (!isInstitutionId(init.node)) throw new RangeError('node: expected an institution id')
    if (!Number.isSafeInteger(init.ttlMs) || init.ttlMs <= 0) throw new RangeError('ttlMs: expected a positive integer')
    this.components = components
    this.node = init.node
    this.ttlMs = init.ttlMs
    this.now = init.now ?? Date.now
    const floor = init.refusalFloorMs ?? LOGIN_REFUSAL_FLOOR_MS
    if (!Number.isSafeInteger(floor) || floor < 0) throw new RangeError('refusalFloorMs: expected a non-negative integer')
    this.refusalFloorMs = floor
    this.sleep = init.sleep ?? sleep
    this.standInKey = components.crypto.signKeyPairFromSeed(new Uint8Array(STAND_IN_SEED)).publicKey
  }

  /** Consumed nonces held now (for tests and status: bounded by the users known here). */
  get consumedCount (): number {
    let count = 0
    for (const nonces of this.consumed.values()) count += nonces.size
    return count
  }

  /**
   * A fresh challenge for `userId`. Issued whether or not the user is known
   * here, so this call tells nobody which users this node holds; it keeps
   * no state, so no number of requests can crowd out a real user's.
   */
  issue (userId: UserId): IssuedChallenge {
    const expiresAt = this.now() + this.ttlMs
    const nonce = new Uint8Array(LOGIN_NONCE_BYTES)
    new DataView(nonce.buffer).setBigUint64(0, BigInt(expiresAt))
    nonce.set(randomBytes(NONCE_RANDOM_BYTES), 8)
    nonce.set(this.mac(userId, nonce), 8 + NONCE_RANDOM_BYTES)
    return { challenge: bytesToHex(nonce), expiresAt }
  }

  /**
   * A fresh challenge for `userId` with the generation of their key in
   * force here: 0 for a user not known here, as for one who never rotated,
   * and answered no sooner than the refusal floor whoever asks, so neither
   * the answer nor its time tells which users this node holds.
   */
  async challenge (userId: UserId): Promise<UserChallenge> {
    const started = this.now()
    const issued = this.issue(userId)
    const lookup = this.components.lookupUserGeneration
    if (lookup === undefined) return { ...issued, generation: 0 }
    const generation = (await lookup(userId)) ?? 0
    const wait = started + this.refusalFloorMs - this.now()
    if (wait > 0) await this.sleep(wait)
    return { ...issued, generation }
  }

  /** Failed logins remembered for `userId` now (at most MAX_FAILED_PER_USER): what a refused try costs the user. */
  failedLogins (userId: UserId): number {
    let failed = 0
    for (const record of this.consumed.get(userId)?.values() ?? []) if (!record.succeeded && record.expiresAt > this.now()) failed++
    return failed
  }

  /**
   * Checks a signed challenge; the user id on success, else UNKNOWN_CHALLENGE
   * (not issued for this user, or expired) or LOGIN_REFUSED, whose `reason`
   * says whether the signature was wrong, the user is not known here
   * (UNKNOWN_USER) or the nonce was used before (UNKNOWN_CHALLENGE).
   */
  async verify (response: ChallengeResponse): Promise<UserId> {
    const started = this.now()
    // Now and then, drop what has expired for every user (those who never come back included).
    if (++this.verifications % 1024 === 0) this.sweep()
    const key = typeof response.challenge === 'string' ? response.challenge.toLowerCase() : ''
    const nonce = /^[0-9a-f]{64}$/.test(key) ? fromHex(key, LOGIN_NONCE_BYTES, 'challenge') : undefined
    const expiresAt = nonce === undefined ? undefined : this.issuedFor(response.userId, nonce)
    // Nothing here depends on whether the user is known: this refusal may be quick.
    if (expiresAt === undefined || this.now() >= expiresAt) {
      throw new NodeError('UNKNOWN_CHALLENGE', 'the challenge was not issued for this user, or has expired: ask for a new one')
    }
    // Consumed before anything is awaited, so two concurrent attempts with one nonce cannot both get through.
    const nonces = this.consumedOf(response.userId)
    const usedBefore = nonces.has(key)
    const record: Consumed = { expiresAt, succeeded: false }
    if (!usedBefore) nonces.set(key, record)
    let publicKey: Uint8Array | undefined
    try {
      publicKey = await this.components.lookupUserKey(response.userId)
    } catch (err) {
      // Nothing was checked: the nonce is not spent (its holder may try again).
      if (!usedBefore) this.unspend(response.userId, key)
      throw err
    }
    // Nothing is kept for users not known here: their ids could be anything.
    if (publicKey === undefined) this.unspend(response.userId, key)
    // The same verification whether or not the user is known here.
    const valid = this.components.crypto.verify(loginMessage(this.node, nonce!), response.signature, publicKey ?? this.standInKey)
    if (valid && publicKey !== undefined && !usedBefore) {
      record.succeeded = true
      return response.userId
    }
    if (publicKey !== undefined && !usedBefore) this.forgetOldFailures(nonces)
    const reason: RefusalReason = publicKey === undefined ? 'UNKNOWN_USER' : usedBefore ? 'UNKNOWN_CHALLENGE' : 'BAD_SIGNATURE'
    const wait = started + this.refusalFloorMs - this.now()
    if (wait > 0) await this.sleep(wait)
    // One answer for every reason (the usual one is a login signed for another node: the audience is part of what is signed).
    throw new NodeError('LOGIN_REFUSED', `the login was refused: it takes a challenge not used before, signed with the user's key for this node (${this.node}) (a CLI login names the node with --institution)`, { reason })
  }

  /** The expiry inside a nonce this store issued for `userId`; undefined if it did not. */
  private issuedFor (userId: UserId, nonce: Uint8Array): number | undefined {
    const expected = this.mac(userId, nonce)
    const given = nonce.subarray(8 + NONCE_RANDOM_BYTES)
    if (!timingSafeEqual(expected, given)) return undefined
    return Number(new DataView(nonce.buffer, nonce.byteOffset).getBigUint64(0))
  }

  private mac (userId: UserId, nonce: Uint8Array): Uint8Array {
    const hmac = createHmac('sha256', this.secret)
    hmac.update(CHALLENGE_MAC_DOMAIN)
    hmac.update(utf8ToBytes(userId))
    hmac.update(nonce.subarray(0, 8 + NONCE_RANDOM_BYTES))
    return new Uint8Array(hmac.digest().subarray(0, NONCE_MAC_BYTES))
  }

  /** The user's consumed nonces, expired ones dropped. */
  private consumedOf (userId: UserId): Map<string, Consumed> {
    let nonces = this.consumed.get(userId)
    if (nonces === undefined) {
      nonces = new Map()
      this.consumed.set(userId, nonces)
    }
    dropExpired(nonces, this.now())
    return nonces
  }

  /** Takes back a nonce consumed by an attempt that checked nothing. */
  private unspend (userId: UserId, key: string): void {
    const nonces = this.consumed.get(userId)
    nonces?.delete(key)
    if (nonces?.size === 0) this.consumed.delete(userId)
  }

  private sweep (): void {
    const now = this.now()
    for (const [userId, nonces] of this.consumed) {
      dropExpired(nonces, now)
      if (nonces.size === 0) this.consumed.delete(userId)
    }
  }

  /** Keeps at most MAX_FAILED_PER_USER failed nonces of a user, forgetting the oldest. */
  private forgetOldFailures (nonces: Map<string, Consumed>): void {
    let failed = 0
    for (const record of nonces.values()) if (!record.succeeded) failed++
    for (const [key, record] of nonces) {
      if (failed <= MAX_FAILED_PER_USER) break
      if (!record.succeeded) {
        nonces.delete(key)
        failed--
      }
    }
  }
}

function dropExpired (nonces: Map<string, Consumed>, now: number): void {
  for (const [key, record] of nonces) if (record.expiresAt <= now) nonces.delete(key)
}
