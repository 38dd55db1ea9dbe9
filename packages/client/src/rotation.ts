/**
 * Rotating the user's keys from the phone (PhoneClient.rotate): a `rekey`
 * entry revealing generation g + 1's keys (derived from the phrase), signed
 * by the revealed sign key and committing to generation g + 2's, sent to
 * the custodian through the one re-sign loop (resign.ts). The chain's
 * genesis (g = 0) or last rekey committed to those keys: a chain whose
 * genesis committed to none cannot rotate.
 *
 * Order matters: the writes still queued were meant for the keys in force
 * now, so they are sent first (rotate refuses while any is still queued),
 * then the rekey, then the light peer reconnects under the revealed key
 * (the nodes cut off the one it retired), then the device syncs — its
 * ledger verifies the rekey — and only then signs with the new keys.
 */
import { buildRekey, equal, nextKeyDigest, signEntry, type CryptoProvider, type Entry, type UserId, type UserKeys } from '@healthchain/core'
import type { AppendResult, Ledger } from '@healthchain/ledger'
import { ClientError } from './errors.js'
import type { KeyRing } from './key-ring.js'
import { sendSigned, type SendAnswer } from './resign.js'

export interface RotationComponents {
  readonly ledger: Ledger
  readonly crypto: CryptoProvider
  readonly ring: KeyRing
  readonly user: UserId
  readonly chainKey: () => Uint8Array
  /** What is still queued once the outbox was flushed. */
  readonly flushPending: () => Promise<number>
  readonly reachCustodian: () => Promise<void>
  readonly send: (entry: Entry, slot: { chainKey: Uint8Array, seq: number }, opts: { timeoutMs: number }) => Promise<SendAnswer<AppendResult>>
  /** Reconnects under `keys` (identity.ts): once the custodian took the rekey, the nodes cut off the key it retired. */
  readonly useIdentity: (keys: UserKeys) => Promise<void>
  /** Syncs the device (PhoneClient.sync), so its ledger verifies the rekey. */
  readonly sync: () => Promise<unknown>
}

export interface RotationResult {
  /** The generation now in force. */
  readonly generation: number
  /** Where the rekey stands in the chain. */
  readonly seq: number
}

const REKEY_TIMEOUT_MS = 10_000

export async function rotateKeys (c: RotationComponents): Promise<RotationResult> {
  await c.sync()
  if (!c.ledger.hasChain(c.user)) throw new ClientError('NOT_SYNCED', 'this device holds no copy of the chain yet: sync first')
  const chain = await c.ledger.chain(c.user)
  const held = chain.user
  if (held === undefined) throw new ClientError('NOT_SYNCED', 'the chain\'s genesis is not verified on this device yet')
  if (held.next === undefined) {
    throw new ClientError('INVALID_INPUT', 'this chain\'s genesis committed to no next key, so its keys cannot rotate', { field: 'generation' })
  }
  c.ring.follow(held.generation)
  const generation = held.generation + 1
  const revealed = c.ring.keysAt(generation)
  if (!equal(nextKeyDigest(revealed), held.next)) {
    throw new ClientError('NOT_OWN_CHAIN', 'the chain committed to keys this phrase does not derive', { field: 'generation' })
  }
  if (await c.flushPending() > 0) throw new ClientError('NOT_SYNCED', 'writes are still queued for the keys in force: send them first (sync with the custodian reachable)')
  const rekey = buildRekey(generation, revealed, c.ring.keysAt(generation + 1), {}, c.crypto)
  const chainKey = c.chainKey()
  await c.reachCustodian()
  let seq: number
  try {
    ({ seq } = await sendSigned({
      length: async () => (await c.ledger.chain(c.user)).length,
      sign: (at) => signEntry(rekey, { chainKey, seq: at }, revealed.sign.secretKey, c.crypto),
      send: async (signed, at) => await c.send(signed, { chainKey, seq: at }, { timeoutMs: REKEY_TIMEOUT_MS })
    }))
  } catch (err) {
    if (err instanceof ClientError) throw err
    const remoteCode = (err as { remoteCode?: string }).remoteCode
    throw new ClientError(remoteCode === undefined ? 'NETWORK' : 'REFUSED', 'the custodian did not take the rekey', { cause: err, ...(remoteCode === undefined ? {} : { remoteCode }) })
  }
  // The identity is transport: it moves now, or the device could not sync. The keys that sign wait for the ledger:
  // it takes them once it verified the rekey, and the ring follows the chain, never the other way round.
  await c.useIdentity(revealed)
  await c.sync()
  c.ring.follow((await c.ledger.chain(c.user)).user?.generation)
  return { generation: c.ring.current, seq }
}
