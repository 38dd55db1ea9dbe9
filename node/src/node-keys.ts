/**
 * The node's own keys, in `<dataDir>/keys/` (files 0600 in a 0700 directory):
 *
 *   institution.json     the institution's Ed25519 signing and X25519 sealing
 *                        keys (what the registry lists as `sign` and `box`)
 *   institution-N.json   later generations (N = 2, 3, …), made by
 *                        `healthchain keys rotate`; the older files are kept,
 *                        since exams sealed to an older box key must stay
 *                        readable here (see institution-keyring.ts)
 *   p2p.json             the libp2p identity (Ed25519, protobuf, hex): the
 *                        peer id the registry names; kept apart from the
 *                        institution's keys so either can rotate alone
 *
 * Created on first use, read on every start; never logged, never sent.
 */
import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { bytesToHex, generatePartyKeys, type CryptoProvider, type PartyKeys } from '@healthchain/core'
import { readPartyKeys, writePartyKeys } from '@healthchain/ledger'
import { NodeError } from './errors.js'
import { readSecretFile, writeSecretFile } from './secret-file.js'

export interface NodeKeys {
  /** The newest generation of the institution's keys (what `admit` registers for a node not yet admitted). */
  readonly institution: PartyKeys
  /** Every generation, oldest first (the first is `institution.json`). */
  readonly generations: readonly PartyKeys[]
  readonly p2p: PrivateKey
  /** The libp2p peer id of `p2p`, as the registry names it. */
  readonly peerId: string
}

/** The first generation's file; `generation` > 1 names a rotated one. */
export function institutionKeysFile (keysDir: string, generation = 1): string {
  return join(keysDir, generation === 1 ? 'institution.json' : `institution-${generation}.json`)
}
export function p2pKeyFile (keysDir: string): string { return join(keysDir, 'p2p.json') }

/** The node's keys from `keysDir`, created (and written owner-only) where missing. */
export async function loadOrCreateNodeKeys (keysDir: string, crypto: CryptoProvider): Promise<NodeKeys & { created: boolean }> {
  const { keys: first, created: newInstitution } = await readOrCreatePartyKeys(institutionKeysFile(keysDir), crypto)
  const generations = [first, ...await readRotatedGenerations(keysDir)]
  let created = newInstitution
  let p2p: PrivateKey
  const text = await readSecretFile(p2pKeyFile(keysDir))
  if (text === undefined) {
    p2p = await generateKeyPair('Ed25519')
    await writeSecretFile(p2pKeyFile(keysDir), JSON.stringify({ v: 1, privateKey: bytesToHex(privateKeyToProtobuf(p2p)) }, null, 2) + '\n')
    created = true
  } else {
    p2p = parseP2pKeyFile(text, p2pKeyFile(keysDir))
  }
  return { institution: generations[generations.length - 1]!, generations, p2p, peerId: peerIdFromPrivateKey(p2p).toString(), created }
}

/** Every generation of the institution's keys in `keysDir`, oldest first, without creating any (KEY_FILE when the first is missing). */
export async function readInstitutionGenerations (keysDir: string): Promise<PartyKeys[]> {
  return [await readPartyKeys(institutionKeysFile(keysDir)), ...await readRotatedGenerations(keysDir)]
}

/**
 * Generations 2, 3, … in order. A gap (institution-3.json without
 * institution-2.json) is refused: a missing file is a lost key, and the
 * order of generations must not be guessed.
 */
async function readRotatedGenerations (keysDir: string): Promise<PartyKeys[]> {
  const numbers = (await readdir(keysDir))
    .map((name) => /^institution-([1-9][0-9]{0,5})\.json$/.exec(name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b)
  const out: PartyKeys[] = []
  for (const [i, n] of numbers.entries()) {
    if (n !== i + 2) throw new NodeError('DATA_FILE', `${institutionKeysFile(keysDir, i + 2)} is missing, but ${institutionKeysFile(keysDir, n)} exists`)
    out.push(await readPartyKeys(institutionKeysFile(keysDir, n)))
  }
  return out
}

/**
 * Makes the next generation of institution keys beside the others (none is
 * overwritten or removed) and returns it with its number. The registry
 * still lists the older key until governance appends a `rotate` entry.
 */
export async function rotateInstitutionKeys (keysDir: string, crypto: CryptoProvider): Promise<{ keys: PartyKeys, generation: number }> {
  if (!existsSync(institutionKeysFile(keysDir))) {
    throw new NodeError('DATA_FILE', `${institutionKeysFile(keysDir)} does not exist: create the node's keys first (\`healthchain keys create\`)`)
  }
  const generation = 2 + (await readRotatedGenerations(keysDir)).length
  const path = institutionKeysFile(keysDir, generation)
  if (existsSync(path)) throw new NodeError('DATA_FILE', `${path} exists already`)
  const keys = generatePartyKeys(crypto)
  await writePartyKeys(path, keys)
  return { keys, generation }
}

function parseP2pKeyFile (text: string, path: string): PrivateKey {
  try {
    const json = JSON.parse(text) as { v?: unknown, privateKey?: unknown }
    if (json.v !== 1 || typeof json.privateKey !== 'string') throw new Error('expected { v: 1, privateKey: <hex> }')
    if (!/^([0-9a-f]{2})+$/.test(json.privateKey)) throw new Error('privateKey: expected hex')
    return privateKeyFromProtobuf(new Uint8Array(Buffer.from(json.privateKey, 'hex')))
  } catch (cause) {
    throw new NodeError('DATA_FILE', `${path} is not a libp2p key file`, { cause })
  }
}

/** Party keys (sign + box) from `path`, or new ones written there (owner-only) if the file does not exist. */
export async function readOrCreatePartyKeys (path: string, crypto: CryptoProvider): Promise<{ keys: PartyKeys, created: boolean }> {
  try {
    return { keys: await readPartyKeys(path), created: false }
  } catch (err) {
    // The ledger's key store says KEY_FILE for a missing file too; tell "missing" apart by its cause.
    if ((err as { cause?: { code?: unknown } } | null)?.cause?.code !== 'ENOENT') throw err
    const keys = generatePartyKeys(crypto)
    await writePartyKeys(path, keys)
    return { keys, created: true }
  }
}
