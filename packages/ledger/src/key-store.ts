/**
 * Key files at rest. A node's keys never leave it: they are written once,
 * owner-only (owner-only-file.ts: 0600 in a 0700 directory, through a
 * temporary file and a rename so a crash never leaves half a key); reading refuses a file that
 * group or others can read, as ssh does.
 *
 * Format (JSON, versioned): { "v": 1, "kind": "party-keys" | "user-phrase", ... }
 * with keys in hex.
 */
import { readFile, stat } from 'node:fs/promises'
import { bytesToHex, fromHex, type PartyKeys } from '@healthchain/core'
import { LedgerError } from './errors.js'
import { readableByOthers, writeOwnerOnlyFile } from './owner-only-file.js'

interface PartyKeysFile {
  v: 1
  kind: 'party-keys'
  sign: { publicKey: string, secretKey: string }
  box: { publicKey: string, secretKey: string }
}

interface PhraseFile {
  v: 1
  kind: 'user-phrase'
  phrase: string
}

async function writeSecretFile (path: string, contents: string): Promise<void> {
  try {
    await writeOwnerOnlyFile(path, contents)
  } catch (cause) {
    throw new LedgerError('KEY_FILE', `key file ${path} cannot be written`, { cause })
  }
}

/** What each kind of key file holds, for the message that refuses a file of another shape. */
const EXPECTED: Record<'party-keys' | 'user-phrase', string> = {
  'party-keys': 'a version 1 party-keys file: JSON {"v": 1, "kind": "party-keys", "sign": {…}, "box": {…}}',
  'user-phrase': 'a version 1 user-phrase file: JSON {"v": 1, "kind": "user-phrase", "phrase": "<24 words>"}'
}

async function readSecretFile (path: string, kind: 'party-keys' | 'user-phrase'): Promise<unknown> {
  let info
  try {
    info = await stat(path)
  } catch (cause) {
    // The cause stays attached: callers that create a missing file tell "missing" apart by its ENOENT.
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT'
    throw new LedgerError('KEY_FILE', missing ? `key file ${path} does not exist` : `key file ${path} cannot be read`, { cause })
  }
  if (readableByOthers(info.mode)) {
    throw new LedgerError('KEY_FILE', `key file ${path} is readable by group or others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${path}`)
  }
  try {
    return JSON.parse(await readFile(path, 'utf8'))
  } catch (cause) {
    throw new LedgerError('KEY_FILE', `key file ${path} is not valid JSON: expected ${EXPECTED[kind]}`, { cause })
  }
}

export async function writePartyKeys (path: string, keys: PartyKeys): Promise<void> {
  const file: PartyKeysFile = {
    v: 1,
    kind: 'party-keys',
    sign: { publicKey: bytesToHex(keys.sign.publicKey), secretKey: bytesToHex(keys.sign.secretKey) },
    box: { publicKey: bytesToHex(keys.box.publicKey), secretKey: bytesToHex(keys.box.secretKey) }
  }
  await writeSecretFile(path, JSON.stringify(file, null, 2) + '\n')
}

export async function readPartyKeys (path: string): Promise<PartyKeys> {
  const file = await readSecretFile(path, 'party-keys') as Partial<PartyKeysFile> | null
  if (file?.v !== 1 || file.kind !== 'party-keys' || file.sign === undefined || file.box === undefined) {
    throw new LedgerError('KEY_FILE', `key file ${path} is not ${EXPECTED['party-keys']}`)
  }
  try {
    return {
      sign: { publicKey: fromHex(file.sign.publicKey, 32, 'sign.publicKey'), secretKey: fromHex(file.sign.secretKey, 64, 'sign.secretKey') },
      box: { publicKey: fromHex(file.box.publicKey, 32, 'box.publicKey'), secretKey: fromHex(file.box.secretKey, 32, 'box.secretKey') }
    }
  } catch (cause) {
    throw new LedgerError('KEY_FILE', `key file ${path} has a malformed key`, { cause })
  }
}

export async function writeRecoveryPhrase (path: string, phrase: string): Promise<void> {
  const file: PhraseFile = { v: 1, kind: 'user-phrase', phrase }
  await writeSecretFile(path, JSON.stringify(file, null, 2) + '\n')
}

export async function readRecoveryPhrase (path: string): Promise<string> {
  const file = await readSecretFile(path, 'user-phrase') as Partial<PhraseFile> | null
  if (file?.v !== 1 || file.kind !== 'user-phrase' || typeof file.phrase !== 'string') {
    throw new LedgerError('KEY_FILE', `key file ${path} is not ${EXPECTED['user-phrase']}`)
  }
  return file.phrase
}
