/**
 * A user's side over a node's HTTP API, with the keys the recovery phrase
 * derives: the CLI's `user` commands and the narrated demo act as a user at
 * an institution's terminal. A phone is a light peer instead (PhoneClient,
 * `healthchain phone`), the reference user side. Both build and sign the
 * same entries with @healthchain/client's user-side functions and send them
 * through its one re-sign loop; only the transport differs (here HTTP).
 *
 *   enrolUser      sign the genesis for the chain key the node will use
 *                  (position 0), sent by the examiner's staff (POST /v1/users)
 *   writeAsUser    sign an entry for the chain's next position and send it
 *                  (POST /v1/users/{id}/entries); a stale position (another
 *                  write got there first) is re-signed, same entry id, so a
 *                  retry is never appended twice (the client's sendSigned)
 *   openEnvelope   open a sealed segment on the device (the node only ever
 *                  sends users the ciphertext); the client's, re-exported
 *                  here for the CLI's callers
 *   grantExaminer  consent grants carrying the history's data keys
 *                  re-wrapped for the newly trusted examiner (the client's
 *                  buildGrantEntries, chunked as the phone's are)
 *
 * Secret keys never leave this module's callers' process.
 */
import { readFile } from 'node:fs/promises'
import {
  bytesToHex, encodeEntry, fromHex, isRecipient, userKeysFromPhrase,
  type BoxKeyPair, type CryptoProvider, type Entry, type InstitutionId, type UnsignedEntry, type UserKeys
} from '@healthchain/core'
import { buildEnrolmentGenesis, buildGrantEntries, isClientError, sendSigned, signUserEntry, type SealedPast } from '@healthchain/client'
import { buildRotatableGenesis } from '@healthchain/client/custody-writes'
import { envelopeOf, openEnvelope } from '@healthchain/client/user-side'
import { LedgerError, readRecoveryPhrase } from '@healthchain/ledger'
import { z } from 'zod'
import { chainSummarySchema, writeReplySchema, type ChainSummary, type WriteReply } from '../api/index.js'
import type { ApiClient } from './api-client.js'
import { ApiError, CliError } from './errors.js'

export { openEnvelope }

/** The user's keys from a phrase file (as `healthchain user new --out` writes it: owner-only). */
export async function readUserKeys (phraseFile: string, crypto: CryptoProvider): Promise<UserKeys> {
  return userKeysFromPhrase(await readPhraseFile(phraseFile), crypto)
}

const PHRASE_FILE_ORIGIN = 'the file `healthchain user new --out <file>` writes'

/**
 * The recovery phrase in a `--phrase-file`. The ledger's KEY_FILE messages
 * speak of key files in general; here the user is told which file the
 * option wants, since a missing or wrong file is the usual first mistake.
 */
export async function readPhraseFile (path: string): Promise<string> {
  try {
    return await readRecoveryPhrase(path)
  } catch (err) {
    if (!(err instanceof LedgerError && err.code === 'KEY_FILE')) throw err
    const errno = (err.cause as NodeJS.ErrnoException | undefined)?.code
    if (errno === 'ENOENT') {
      throw new CliError('KEY_FILE', `phrase file ${path} does not exist (--phrase-file takes ${PHRASE_FILE_ORIGIN})`, { cause: err })
    }
    if (typeof errno === 'string') throw err // there but unreadable (permissions, a directory): the ledger's message says so
    // Refused for its mode (readable by others), not its contents: the ledger's message says what to do.
    if (!(err.cause instanceof SyntaxError) && await looksLikePhraseFile(path)) throw err
    throw new CliError('KEY_FILE', `${err.message} (--phrase-file takes ${PHRASE_FILE_ORIGIN})`, { cause: err })
  }
}

/** Whether the file has a phrase file's shape (only asked after a refusal, to tell a wrong file from a file with a wrong mode). */
async function looksLikePhraseFile (path: string): Promise<boolean> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as { v?: unknown, kind?: unknown, phrase?: unknown } | null
    return value?.v === 1 && value.kind === 'user-phrase' && typeof value.phrase === 'string'
  } catch {
    return false
  }
}

/**
 * Enrols `user` at the node `staff` is logged in to: the node says which
 * chain key it will give the chain, the user signs the genesis for that key
 * and position 0 naming `custodian` (default: the node's own answer; the
 * node refuses a genesis naming another institution). Given the phrase,
 * the genesis commits to the next generation's keys (pre-rotation).
 */
export async function enrolUser (
  staff: ApiClient, user: UserKeys, crypto: CryptoProvider, custodian?: InstitutionId, opts: { phrase?: string } = {}
): Promise<ChainSummary> {
  const offer = await staff.request('GET', `/v1/users/${user.userId}/chain-key`, z.object({ chainKey: z.string(), custodian: z.string() }))
  const named = custodian ?? offer.custodian as InstitutionId
  const chainKey = fromHex(offer.chainKey, 32, 'chainKey')
  // With the phrase, the genesis commits to generation 1's keys, so the user can rotate later (`user rotate`).
  const phrase = opts.phrase
  const genesis = clientStep(() => phrase === undefined
    ? buildEnrolmentGenesis(user, named, chainKey, crypto)
    : buildRotatableGenesis(phrase, named, chainKey, crypto))
  return await staff.request('POST', '/v1/users', chainSummarySchema, { body: { genesis: bytesToHex(encodeEntry(genesis)) } })
}

/** Sends an entry already signed for position `seq` (what a device sends; the node never re-signs it). */
export async function postUserEntry (client: ApiClient, user: UserKeys, entry: Entry, seq: number): Promise<WriteReply> {
  return await client.request('POST', `/v1/users/${user.userId}/entries`, writeReplySchema, { body: { entry: bytesToHex(encodeEntry(entry)), seq } })
}

/**
 * Signs `unsigned` for the chain's next position and writes it; re-signs
 * (same id) after STALE_POSITION, reading the chain's length again (the
 * API's refusal does not carry it). Out of re-signs, the API's last
 * STALE_POSITION is thrown, as any other refusal is.
 */
export async function writeAsUser (client: ApiClient, user: UserKeys, unsigned: UnsignedEntry, crypto: CryptoProvider): Promise<WriteReply> {
  const chain = await client.chain(user.userId)
  const chainKey = fromHex(chain.chainKey, 32, 'chainKey')
  // The first position is the length just read; after a stale answer the chain is read again.
  let read: number | undefined = chain.length
  try {
    return await sendSigned<WriteReply>({
      length: async () => {
        const length = read ?? (await client.chain(user.userId)).length
        read = undefined
        return length
      },
      sign: (seq) => signUserEntry(unsigned, user, { chainKey, seq }, crypto),
      send: async (entry, seq) => {
        try {
          return { accepted: await postUserEntry(client, user, entry, seq) }
        } catch (err) {
          if (err instanceof ApiError && err.code === 'STALE_POSITION') return { stale: true, cause: err }
          throw err
        }
      }
    })
  } catch (err) {
    if (isClientError(err, 'REFUSED') && err.cause instanceof ApiError) throw err.cause
    throw err
  }
}

/**
 * Grants `examiner` access: future exams are sealed for it too, and the
 * data keys of the sealed entries the chain holds now are re-wrapped for
 * its X25519 key (`examinerBox`, from the registry) so it can read the
 * history. A long history takes several grants. Returns the writes.
 */
export async function grantExaminer (
  client: ApiClient, user: UserKeys, examiner: InstitutionId, examinerBox: Uint8Array, crypto: CryptoProvider,
  opts: { until?: number, boxes?: readonly BoxKeyPair[] } = {}
): Promise<{ writes: WriteReply[], rewrapped: number }> {
  const own = await client.entries(user.userId, { type: 'exam' })
  // A data key is recovered with the box key it was sealed to (any generation) under its own core's key (a chain that moved has several).
  const boxes = opts.boxes ?? [user.box]
  const groups = new Map<string, { chainKey: Uint8Array, userBox: BoxKeyPair, history: SealedPast[] }>()
  for (const view of own.entries) {
    const sealed = envelopeOf(view)
    const userBox = sealed === undefined ? undefined : boxes.find((box) => isRecipient(sealed, box.publicKey))
    if (sealed === undefined || userBox === undefined) continue
    const segment = view.segmentKey ?? own.chainKey
    const group = `${segment}/${bytesToHex(userBox.publicKey)}`
    if (!groups.has(group)) groups.set(group, { chainKey: fromHex(segment, 32, 'chainKey'), userBox, history: [] })
    groups.get(group)!.history.push({ seq: view.seq, id: fromHex(view.id, 16, 'id'), sealed })
  }
  if (groups.size === 0) groups.set('', { chainKey: fromHex(own.chainKey, 32, 'chainKey'), userBox: user.box, history: [] })
  const writes: WriteReply[] = []
  let rewrapped = 0
  for (const { chainKey, userBox, history } of groups.values()) {
    const built = clientStep(() => buildGrantEntries({ examiner, examinerBox, until: opts.until, history, chainKey, userBox }, crypto))
    rewrapped += built.rewrapped
    for (const grant of built.entries) writes.push(await writeAsUser(client, user, grant, crypto))
  }
  return { writes, rewrapped }
}

/** A step of the client's user side, its ClientError as the CLI's failure (the code unchanged). */
export function clientStep<T> (run: () => T): T {
  try {
    return run()
  } catch (err) {
    if (isClientError(err)) throw new CliError(err.code, err.message, { cause: err })
    throw err
  }
}

/** An X25519 key from the registry's answer (hex). */
export function examinerBoxOf (institutions: ReadonlyArray<{ id: string, role: string, status: string, box: string }>, examiner: InstitutionId): Uint8Array {
  const record = institutions.find((i) => i.id === examiner)
  // The same codes as the phone's grant (packages/client): one mistake, one code, whichever way the user grants.
  if (record === undefined) throw new CliError('UNKNOWN_EXAMINER', `the registry lists no institution ${examiner}`)
  if (record.role !== 'examiner') throw new CliError('NOT_AN_EXAMINER', `${examiner} is ${record.role === 'inquirer' ? 'an' : 'a'} ${record.role}: only examiners read sealed data`)
  if (record.status !== 'active') throw new CliError('NOT_AN_EXAMINER', `${examiner} is suspended: only active examiners may be granted`)
  return fromHex(record.box, 32, 'box')
}
