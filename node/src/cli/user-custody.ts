/**
 * A user's keys by generation and their chain's moves, over a node's HTTP
 * API (the CLI's `user` commands):
 *
 *   loginWithPhrase  logs in with the generation in force at that node: its
 *                    challenge names the generation of the chain's current
 *                    key, whose keys the phrase derives; one signature, and
 *                    the generations before are derived to open old seals
 *   transferChain    asks the new custodian for its offer, checks it here
 *                    (client's checkOffer), signs the migrate with the key in
 *                    force and sends it
 *   rotateKeys       the rekey for the next generation, signed by the revealed
 *                    key, sent as any user entry
 *   openWithAny      a sealed segment opened with whichever generation's box
 *                    key it was sealed to, under its own core's key
 */
import {
  bytesToHex, decodeEntry, encodeEntry, fromHex, signEntry, userKeysFromPhrase, type CryptoProvider, type InstitutionId, type MigratePlain, type UserKeys
} from '@healthchain/core'
import { buildRotation, checkOffer, keysUpTo, signMigrate, type CustodyOffer } from '@healthchain/client/custody-writes'
import { openEnvelope } from '@healthchain/client/user-side'
import {
  continuationOfferSchema, continuedReplySchema, entriesReplySchema, writeReplySchema,
  type ContinuationOffer, type ContinuedReply, type EntriesReply, type EntryViewReply, type MigratePlainView, type WriteReply
} from '../api/index.js'
import { hexToBytes } from '../services/chains.js'
import { ApiClient, loginAsUserInForce } from './api-client.js'
import { ApiError, CliError } from './errors.js'
import { clientStep } from './user-device.js'

/** How long the CLI waits for a new custodian that first fetches the chain from its peers. */
export const TRANSFER_TIMEOUT_MS = 120_000

export interface PhraseSession {
  readonly client: ApiClient
  readonly phrase: string
  /** The keys in force (they signed the login): sign every write with them. */
  readonly keys: UserKeys
  readonly generation: number
  /** Every generation's keys up to the one in force, newest first, to open old seals. */
  readonly all: readonly UserKeys[]
}

/** Logs in at `api` (institution `institution`) with the recovery phrase (readPhraseFile), as the generation in force there. */
export async function loginWithPhrase (api: ApiClient, institution: InstitutionId, phrase: string, crypto: CryptoProvider): Promise<PhraseSession> {
  const { userId } = clientStep(() => userKeysFromPhrase(phrase, crypto))
  const keysOf = (generation: number): UserKeys => clientStep(() => userKeysFromPhrase(phrase, crypto, generation))
  const { client, keys, generation } = await loginAsUserInForce(api, institution, userId, keysOf, crypto)
  return { client, phrase, keys, generation, all: keysUpTo(phrase, generation, crypto) }
}

/** A sealed segment of `view` opened with any generation's box key, under the key of the core the entry was written in. */
export function openWithAny (view: EntryViewReply, chainKey: string, all: readonly UserKeys[], crypto: CryptoProvider): unknown {
  const key = view.segmentKey ?? chainKey
  let failure: unknown
  for (const keys of all) {
    try {
      return openEnvelope(view, key, keys, crypto)
    } catch (err) {
      // Sealed to another generation's box key (NOT_RECIPIENT): the next one may open it.
      failure ??= err
    }
  }
  if (failure !== undefined) throw failure
  return undefined
}

/** Every sealed segment of a read opened on this machine, where one of the user's generations opens it. */
export function openAllWith (read: EntriesReply, all: readonly UserKeys[], crypto: CryptoProvider): EntriesReply {
  return {
    ...read,
    entries: read.entries.map((view) => {
      const data = openWithAny(view, read.chainKey, all, crypto)
      return data === undefined ? view : { ...view, sealed: { readable: true as const, data } }
    })
  }
}

/**
 * Moves the user's chain to `to`, the node `session` is logged in to: its
 * offer (it fetches what it lacks of the chain first, so this may take a
 * while: `progress` says so), checked here against the chain's genesis as
 * that node serves it, the migrate signed with the key in force, sent.
 */
export async function transferChain (
  session: PhraseSession, to: InstitutionId, crypto: CryptoProvider, progress: (line: string) => void = () => {}
): Promise<{ offer: ContinuationOffer, moved: ContinuedReply }> {
  const { client, keys } = session
  const userId = keys.userId
  progress(`asking ${to} for its offer (it first fetches from its peers any block of the chain it lacks)…`)
  const offer = await client.request('GET', `/v1/users/${userId}/continuation`, continuationOfferSchema)
  if (offer.fetched > 0) progress(`${to} fetched ${offer.fetched} block${offer.fetched === 1 ? '' : 's'} of the chain from its peers`)
  const genesisRead = await client.request('GET', `/v1/users/${userId}/entries`, entriesReplySchema, {
    query: { type: 'genesis', encoded: 'true' }
  })
  const encoded = genesisRead.entries[0]?.encoded
  if (encoded === undefined) throw new CliError('BAD_RESPONSE', `${to} served no genesis of the chain`)
  const custody: CustodyOffer = { key: fromHex(offer.key, 32, 'key'), length: offer.length, plain: plainOf(offer.plain) }
  progress(`checking the offer here: chain ${offer.plain.from.slice(0, 16)}… closed at ${offer.length}, to continue as ${offer.key.slice(0, 16)}…`)
  clientStep(() => { checkOffer(custody, session.all[session.all.length - 1]!, to, decodeEntry(hexToBytes(encoded)), crypto) })
  const migrate = clientStep(() => signMigrate(custody, keys, crypto))
  const moved = await client.request('POST', `/v1/users/${userId}/continuation`, continuedReplySchema, {
    body: { migrate: bytesToHex(encodeEntry(migrate)) }
  })
  return { offer, moved }
}

/** Sends the rekey to the next generation (signed by its revealed key); returns the write and the new generation. */
export async function rotateKeys (session: PhraseSession, crypto: CryptoProvider): Promise<{ written: WriteReply, generation: number }> {
  const { client, keys, phrase, generation } = session
  const { unsigned, keys: next } = clientStep(() => buildRotation(phrase, generation, crypto))
  const chain = await client.chain(keys.userId)
  const chainKey = fromHex(chain.chainKey, 32, 'chainKey')
  // Signed for the next position by the revealed key; a stale position (another write first) is signed again for the one after.
  for (let attempt = 0, seq = chain.length; ; attempt++, seq = (await client.chain(keys.userId)).length) {
    const entry = signEntry(unsigned, { chainKey, seq }, next.sign.secretKey, crypto)
    try {
      const written = await client.request('POST', `/v1/users/${keys.userId}/entries`, writeReplySchema, { body: { entry: bytesToHex(encodeEntry(entry)), seq } })
      return { written, generation: generation + 1 }
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'STALE_POSITION') || attempt >= 4) throw err
    }
  }
}

/** The offer's plain segment as the entry holds it: hex back to bytes. */
export function plainOf (view: MigratePlainView): MigratePlain {
  return {
    from: fromHex(view.from, 32, 'plain.from'),
    length: view.length,
    fork: view.fork,
    prologue: fromHex(view.prologue, 32, 'plain.prologue'),
    signer: fromHex(view.signer, 32, 'plain.signer'),
    headSig: fromHex(view.headSig, 64, 'plain.headSig'),
    to: view.to as InstitutionId,
    lineage: view.lineage.map((l, i) => ({ key: fromHex(l.key, 32, `plain.lineage.${i}.key`), length: l.length, prologue: fromHex(l.prologue, 32, `plain.lineage.${i}.prologue`) }))
  }
}
