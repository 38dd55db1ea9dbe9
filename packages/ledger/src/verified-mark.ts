/**
 * How far a replica has checked its copy of a chain, kept beside the core in
 * Hypercore's local user data (never replicated).
 *
 * Why it exists: Hypercore stores a replicated block once its tree proof
 * holds (the custodian signed it), before the ledger checks the entry inside
 * (author signature, role, consent). A block the ledger refused therefore sits
 * on disk like any other. Reopening a chain must not take the stored length
 * for the verified one: it folds the prefix below the mark as checked, and
 * checks everything after it again, with every rule.
 *
 * The mark is only ever a lower bound of what was verified (it is written
 * after the blocks it covers were checked and folded): a crash before it is
 * written costs a re-check, never trust. A mark that is missing, of another
 * version, malformed, or of another fork of the core counts as 0.
 *
 * Layout, version 1 (17 bytes): u8 version = 1 ‖ u64 BE fork ‖ u64 BE length.
 */
import type Hypercore from 'hypercore'

export const VERIFIED_MARK_KEY = 'healthchain/verified'
const VERSION = 1
const SIZE = 17

export interface VerifiedMark {
  /** The core's fork id when the mark was written (a truncation starts a new fork). */
  readonly fork: number
  /** Positions [0, length) were checked and folded. */
  readonly length: number
}

export function encodeVerifiedMark (mark: VerifiedMark): Uint8Array {
  if (!Number.isSafeInteger(mark.fork) || mark.fork < 0 || !Number.isSafeInteger(mark.length) || mark.length < 0) {
    throw new RangeError(`expected a non-negative safe integer fork and length, got ${mark.fork} and ${mark.length}`)
  }
  const out = new Uint8Array(SIZE)
  const view = new DataView(out.buffer)
  view.setUint8(0, VERSION)
  view.setBigUint64(1, BigInt(mark.fork))
  view.setBigUint64(9, BigInt(mark.length))
  return out
}

/** The mark in `bytes`, or undefined when it is not a version-1 mark of safe integers. */
export function decodeVerifiedMark (bytes: Uint8Array | null | undefined): VerifiedMark | undefined {
  if (bytes === null || bytes === undefined || bytes.byteLength !== SIZE) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint8(0) !== VERSION) return undefined
  const fork = view.getBigUint64(1)
  const length = view.getBigUint64(9)
  if (fork > BigInt(Number.MAX_SAFE_INTEGER) || length > BigInt(Number.MAX_SAFE_INTEGER)) return undefined
  return { fork: Number(fork), length: Number(length) }
}

/** Positions of `core` that were verified before: 0 unless a valid mark of the core's current fork says more (never past its length). */
export async function readVerifiedLength (core: Hypercore): Promise<number> {
  const mark = decodeVerifiedMark(await core.getUserData(VERIFIED_MARK_KEY))
  if (mark === undefined || mark.fork !== core.fork) return 0
  return Math.min(mark.length, core.length)
}

export async function writeVerifiedLength (core: Hypercore, length: number): Promise<void> {
  await core.setUserData(VERIFIED_MARK_KEY, encodeVerifiedMark({ fork: core.fork, length }))
}
