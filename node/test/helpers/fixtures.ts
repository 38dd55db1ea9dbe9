/**
 * Shared test fixtures: temporary directories, a clock tests move by hand,
 * users with keys, and damaging a stored block the way a disk or an
 * operator could (hypercore 11.37.1's storage: `state.storage.write()` →
 * `putBlock` / `flush`, as packages/ledger's tests do).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { userIdFromKey, type SigningKeyPair, type UserId } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { expectCodeOf } from '@healthchain/core/testing'
import { NodeError } from '../../src/index.js'

export const crypto = sodiumProvider

export async function makeTempDir (prefix = 'healthchain-node-test-'): Promise<string> {
  return await mkdtemp(join(tmpdir(), prefix))
}

export async function removeDir (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

export interface FakeClock {
  now: () => number
  advance (ms: number): void
}

export function fakeClock (start = Date.UTC(2026, 0, 1)): FakeClock {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms } }
}

export interface TestUser {
  readonly userId: UserId
  readonly sign: SigningKeyPair
}

export function newUser (): TestUser {
  const sign = crypto.signKeyPairFromSeed(crypto.randomBytes(32))
  return { userId: userIdFromKey(sign.publicKey), sign }
}

/** Awaits a promise (or runs a function) that must fail with a NodeError of `code`; returns the error. */
export const expectCode = expectCodeOf(NodeError)

/** Replaces the stored bytes of block `index` without going through Hypercore's signing (the ledger tests' helper). */
export { overwriteBlock } from '../../../packages/ledger/test/helpers/consortium.js'
