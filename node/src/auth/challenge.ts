/**
 * User login by a signed challenge (wire format version 1).
 *
 * 1. The user asks for a challenge for their user id; the node answers with
 *    a fresh 32-byte random nonce (hex) that expires after a short time
 *    (`auth.challengeTtlSeconds`, default 2 minutes).
 * 2. The user signs, with the Ed25519 key of their genesis,
 *
 *      "healthchain/v1/login" 0x00 ‖ len (1 byte) ‖ node ‖ nonce (32)
 *
 *    where `node` is the UTF-8 institution id of the node being logged in to
 *    (its `name` in the config, as the registry lists it; 3–64 bytes, hence
 *    the one-byte length, which keeps the layout unambiguous).
 * 3. The node takes the challenge out of its table (so it is used at most
 *    once, whatever the outcome), looks up the user's public key, and
 *    verifies under libsodium's rule (the project's CryptoProvider).
 *
 * Why the institution id and not the libp2p peer id: it is what the user's
 * device knows the node by (from the registry and the user's own genesis,
 * which names the custodian) and it does not change when the node's libp2p
 * key is rotated; either binds a signature to one node, so a challenge
 * relayed from node A and signed for node B is refused at A. The client
 * must put in the institution it means to log in to, not one the server
 * names: a signature for "hospital-a" is worth nothing at "hospital-b".
 *
 * Refusals: UNKNOWN_CHALLENGE (never issued, issued for another user,
 * expired, or already used), UNKNOWN_USER (no key known for the user id),
 * BAD_SIGNATURE. Known-answer vectors: node/test/vectors/login.json.
 */
import { randomBytes } from 'node:crypto'
import {
  bytesToHex, concatBytes, domainTag, fromHex, isInstitutionId, utf8ToBytes,
  type CryptoProvider, type InstitutionId, type UserId
} from '@healthchain/core'
import { NodeError } from '../errors.js'

export const LOGIN_VERSION = 1
export const LOGIN_DOMAIN = 'healthchain/v1/login'
const LOGIN_DOMAIN_BYTES = domainTag(LOGIN_DOMAIN)
export const LOGIN_NONCE_BYTES = 32
/** A cap on outstanding challenges, so unauthenticated requests cannot exhaust memory. */
export const DEFAULT_MAX_CHALLENGES = 10_000

/** The exact bytes a user signs to log in to `node` with `nonce`. */
export function loginMessage (node: InstitutionId, nonce: Uint8Array): Uint8Array {
  if (!isInstitutionId(node)) throw new NodeError('BAD_REQUEST', 'node: expected an institution id', { field: 'node' })
  if (!(nonce instanceof Uint8Array) || nonce.length !== LOGIN_NONCE_BYTES) {
    throw new NodeError('BAD_REQUEST', `nonce: expected ${LOGIN_NONCE_BYTES} bytes`, { field: 'nonce' })
  }
  const name = utf8ToBytes(node)
  return concatBytes(LOGIN_DOMAIN_BYTES, new Uint8Array([name.length]), name, nonce)
}

/** A user's signature over the login message (what a client computes). */
export function signLogin (node: InstitutionId, nonce: Uint8Array, secretKey: Uint8Array, crypto: CryptoProvider): Uint8Array {
  return crypto.sign(loginMessage(node, nonce), secretKey)
}

/** The user's Ed25519 public key (from their genesis), or undefined when this node knows none. */
export type LookupUserKey = (userId: UserId) => Uint8Array | undefined | Promise<Uint8Array | undefined>

export interface IssuedChallenge {
  /** The nonce, 64 lowercase hex characters. */
  readonly challenge: string
  /** Milliseconds since the epoch. */
  readonly expiresAt: number
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
}

export interface ChallengeStoreInit {
  /** The node's institution id: the audience every signature must name. */
  readonly node: InstitutionId
  readonly ttlMs: number
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number
  readonly maxOutstanding?: number
}

interface Pending {
  readonly userId: UserId
  readonly expiresAt: number
}

export class ChallengeStore {
  readonly node: InstitutionId
  private readonly components: ChallengeStoreComponents
  private readonly ttlMs: number
  private readonly now: () => number
  private readonly maxOutstanding: number
  /** By nonce hex, in issue order (= expiry order: one lifetime for all). */
  private readonly pending = new Map<string, Pending>()

  constructor (components: ChallengeStoreComponents, init: ChallengeStoreInit) {
    if (!isInstitutionId(init.node)) throw new RangeError('node: expected an institution id')
    if (!Number.isSafeInteger(init.ttlMs) || init.ttlMs <= 0) throw new RangeError('ttlMs: expected a positive integer')
    this.components = components
    this.node = init.node
    this.ttlMs = init.ttlMs
    this.now = init.now ?? Date.now
    this.maxOutstanding = init.maxOutstanding ?? DEFAULT_MAX_CHALLENGES
  }

  get outstanding (): number { return this.pending.size }

  /**
   * A fresh challenge for `userId`. Issued whether or not the user is known
   * here, so this call tells nobody which users this node holds.
   * TOO_MANY_CHALLENGES when the table is full of unexpired challenges.
   */
  issue (userId: UserId): IssuedChallenge {
    this.sweep()
    if (this.pending.size >= this.maxOutstanding) {
      throw new NodeError('TOO_MANY_CHALLENGES', 'too many login challenges are outstanding; try again shortly')
    }
    const challenge = bytesToHex(randomBytes(LOGIN_NONCE_BYTES))
    const expiresAt = this.now() + this.ttlMs
    this.pending.set(challenge, { userId, expiresAt })
    return { challenge, expiresAt }
  }

  /** Checks a signed challenge; the user id on success, else UNKNOWN_CHALLENGE, UNKNOWN_USER or BAD_SIGNATURE. */
  async verify (response: ChallengeResponse): Promise<UserId> {
    const key = typeof response.challenge === 'string' ? response.challenge.toLowerCase() : ''
    const pending = this.pending.get(key)
    // Used at most once: taken out before anything else is checked.
    if (pending !== undefined) this.pending.delete(key)
    if (pending === undefined || pending.userId !== response.userId || this.now() >= pending.expiresAt) {
      throw new NodeError('UNKNOWN_CHALLENGE', 'the challenge was not issued for this user, has expired, or was already used')
    }
    const publicKey = await this.components.lookupUserKey(response.userId)
    if (publicKey === undefined) throw new NodeError('UNKNOWN_USER', `no key is known here for user ${response.userId}`)
    const nonce = fromHex(key, LOGIN_NONCE_BYTES, 'challenge')
    if (!this.components.crypto.verify(loginMessage(this.node, nonce), response.signature, publicKey)) {
      // The usual cause is not a wrong key but a login signed for another node: the audience is part of what is signed.
      throw new NodeError('BAD_SIGNATURE', `the login signature does not verify with the user's key for this node (${this.node}): it must be made with the user's key over a challenge for ${this.node} (a CLI login names it with --institution)`)
    }
    return response.userId
  }

  private sweep (): void {
    const now = this.now()
    for (const [key, pending] of this.pending) {
      if (pending.expiresAt > now) break
      this.pending.delete(key)
    }
  }
}
