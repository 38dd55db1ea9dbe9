/**
 * Opening a phone's device directory for the user of a phrase: the keys,
 * device.json (device.ts), the device's Ledger (no institution, no worker
 * threads), the chain key it uses, the outbox, and the light peer whose
 * libp2p identity is the user's key in force on the chain the device
 * verified (identity.ts). Everything opened is closed again if a
 * later step fails.
 */
import { equal, userKeysFromPhrase, type CryptoProvider, type UserId, type UserKeys } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { Ledger, LedgerError, writeRecoveryPhrase } from '@healthchain/ledger'
import { LightPeer } from '@healthchain/net'
import { assertKey } from './argument-checks.js'
import { DeviceState } from './device.js'
import { ClientError } from './errors.js'
import { KeyRing } from './key-ring.js'
import { Outbox } from './outbox.js'
import type { PhoneClientInit } from './phone-types.js'

export interface OpenedDevice {
  readonly keys: UserKeys
  readonly crypto: CryptoProvider
  readonly ledger: Ledger
  readonly device: DeviceState
  readonly outbox: Outbox
  readonly peer: LightPeer
  /** The user's keys by generation, at the generation the chain held here has in force. */
  readonly ring: KeyRing
}

/**
 * Throws ClientError: INVALID_INPUT (phrase, registryKey, quorum), DEVICE_STATE (the
 * directory belongs to another user or registry), DEVICE_LOCKED,
 * DEVICE_MOVED, NOT_OWN_CHAIN (`chainKey` differs from the chain this
 * device holds).
 */
export async function openDevice (init: PhoneClientInit): Promise<OpenedDevice> {
  const crypto = init.crypto ?? sodiumProvider
  let keys: UserKeys
  try {
    keys = userKeysFromPhrase(init.phrase, crypto)
  } catch (err) {
    // The message is core's, which never repeats the phrase.
    throw new ClientError('INVALID_INPUT', 'phrase: not a valid 24-word recovery phrase', { field: 'phrase', cause: err })
  }
  if (!(init.registryKey instanceof Uint8Array) || init.registryKey.length !== 32) {
    throw new ClientError('INVALID_INPUT', 'registryKey: expected 32 bytes', { field: 'registryKey' })
  }
  if (init.quorum !== undefined && !(Number.isSafeInteger(init.quorum) && init.quorum >= 0)) {
    throw new ClientError('INVALID_INPUT', 'quorum: expected an integer, 0 or more', { field: 'quorum' })
  }
  const device = await DeviceState.open(init.dir, keys.userId, init.registryKey)
  if (init.quorum !== undefined) await device.setQuorum(init.quorum)
  if (init.savePhrase === true) await writeRecoveryPhrase(device.phrasePath, init.phrase.trim().toLowerCase().split(/\s+/).join(' '))

  const ledger = await openLedger(device.ledgerDir, crypto)
  let outbox: Outbox | undefined
  try {
    if (ledger.hasRegistry && !equal(ledger.registry.key, init.registryKey)) {
      throw new ClientError('DEVICE_STATE', 'this device\'s ledger follows another registry')
    }
    await reconcileChainKey(ledger, device, keys.userId, init.chainKey)
    outbox = await Outbox.open(ledger)
    const ring = new KeyRing(init.phrase, crypto, keys)
    // Not stored: the generation is the chain's, as this device verified it.
    ring.follow(ledger.hasChain(keys.userId) ? (await ledger.chain(keys.userId)).user?.generation : undefined)
    // The identity is the key in force: nodes refuse a rotated-out one (identity.ts).
    const peer = await LightPeer.start({
      ledger, registryKey: init.registryKey, user: ring.keys.sign, userId: keys.userId, bootstrapPeers: init.bootstrapPeers
    })
    return { keys, crypto, ledger, device, outbox, peer, ring }
  } catch (err) {
    await outbox?.close().catch(() => {})
    await ledger.close().catch(() => {})
    throw err
  }
}

async function openLedger (dir: string, crypto: CryptoProvider): Promise<Ledger> {
  try {
    // A phone verifies one chain incrementally: no worker threads.
    return await Ledger.open({ dir, crypto, verifyWorkers: 0 })
  } catch (err) {
    if (err instanceof LedgerError && err.code === 'STORE_LOCKED') throw new ClientError('DEVICE_LOCKED', 'the device directory is open in another process', { cause: err })
    if (err instanceof LedgerError && err.code === 'STORE_MOVED') {
      throw new ClientError('DEVICE_MOVED', 'the device directory was copied from elsewhere: open a new directory with the recovery phrase', { cause: err })
    }
    throw err
  }
}

/**
 * The chain key this device uses: the chain its ledger holds wins (a
 * different `given` key is refused, as by useChainKey); else the given one;
 * else the one device.json kept (also after a crash between the ledger
 * recording the chain and device.json).
 */
async function reconcileChainKey (ledger: Ledger, device: DeviceState, user: UserId, given: Uint8Array | undefined): Promise<void> {
  if (given !== undefined) assertKey(given, 'chainKey')
  const held = ledger.hasChain(user) ? (await ledger.chain(user)).key : undefined
  if (given !== undefined && held !== undefined && !equal(held, given)) {
    throw new ClientError('NOT_OWN_CHAIN', 'this device holds the user\'s chain under another key', { field: 'chainKey' })
  }
  const key = held ?? given ?? device.chainKey
  if (key !== undefined) await device.setChainKey(key)
}
