/**
 * Writes the known-answer vectors of the ledger's own on-disk formats to
 * packages/ledger/test/vectors/*.json.
 *
 *   npx tsx packages/ledger/test/make-vectors.ts
 *
 * Every input is fixed (keys are SHA-256 of a label), so running it again
 * writes the same files. Regenerate only when a format changes on purpose;
 * ../catalog-checkpoint-vectors.test.ts re-encodes every valid case from its
 * `input` and compares byte for byte, decodes it back, and feeds every
 * reject case to the decoder.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { bytesToHex, concatBytes, type UserId } from '@healthchain/core'
import { encodeCatalogCheckpoint, type CatalogCheckpoint } from '../src/catalog-checkpoint.js'
import { toJson } from './helpers/checkpoint-json.js'

const VECTORS_DIR = new URL('./vectors/', import.meta.url)

const sha256 = (bytes: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(bytes).digest())
const key = (label: string): Uint8Array => sha256(new TextEncoder().encode(`healthchain-test/catalog-checkpoint/${label}`))
const u32 = (n: number): Uint8Array => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n); return b }

const alice = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' as UserId
const bob = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' as UserId
const carol = 'cccccccccccccccccccccccccccccccc' as UserId

const empty: CatalogCheckpoint = {
  catalogKey: key('catalog'),
  length: 0,
  treeHash: key('tree-0'),
  tables: { registryKey: undefined, keys: new Uint8Array(0), userOfSlot: [], chains: [], closed: [], signs: [], usersBySign: [] }
}

/**
 * A registry record, three chains (alice, bob, carol), alice's moved from
 * her first key to a continuation (her old key keeps its slot, as history),
 * bob rekeyed twice (his generation-1 key is no longer his), 7 records.
 */
const typical: CatalogCheckpoint = {
  catalogKey: key('catalog'),
  length: 7,
  treeHash: key('tree-7'),
  tables: {
    registryKey: key('registry'),
    keys: concatBytes(key('alice-1'), key('bob'), key('carol'), key('alice-2')),
    userOfSlot: [alice, bob, carol, alice],
    chains: [[alice, 3], [bob, 1], [carol, 2]],
    closed: [{ from: key('alice-1'), user: alice, length: 12, successor: key('alice-2') }],
    signs: [[bob, { sign: key('bob-sign-2'), generation: 2 }]],
    usersBySign: [[key('bob-sign-2'), bob]]
  }
}

/** A user id outside ASCII, and a chain whose slot answers another user (so the user is written out). */
const unusual: CatalogCheckpoint = {
  catalogKey: key('catalog'),
  length: 2,
  treeHash: key('tree-2'),
  tables: {
    registryKey: undefined,
    keys: concatBytes(key('dora')),
    userOfSlot: ['dörä' as UserId],
    chains: [['dörä' as UserId, 0], [carol, 0]],
    closed: [],
    signs: [],
    usersBySign: []
  }
}

const valids = [['empty catalog', empty], ['registry, three chains, a move and a rekey', typical], ['non-ASCII user, a slot of another user', unusual]] as const

/** `body` with a correct digest: a well-formed file whose content is wrong. */
const redigest = (body: Uint8Array): Uint8Array => concatBytes(body, sha256(body))
const bodyOf = (bytes: Uint8Array): Uint8Array => bytes.subarray(0, bytes.length - 32)
const good = encodeCatalogCheckpoint(typical)
const withByte = (bytes: Uint8Array, at: number, value: number): Uint8Array => { const b = bytes.slice(); b[at] = value; return b }
const HEADER = 8 + 2 + 8 + 32 + 32
/** Where the slot count of `typical` is: after the header, the registry flag and key. */
const SLOTS_AT = HEADER + 1 + 32
const CHAINS_AT = SLOTS_AT + 4 + 4 * 32 + 4 * (2 + 32)

const rejects: Array<{ name: string, hex: string, code: string }> = [
  { name: 'empty file', hex: '', code: 'MALFORMED' },
  { name: 'shorter than magic, version and digest', hex: bytesToHex(good.subarray(0, 41)), code: 'MALFORMED' },
  { name: 'wrong magic', hex: bytesToHex(withByte(good, 0, 0x68)), code: 'MALFORMED' },
  { name: 'version 2', hex: bytesToHex(redigest(withByte(bodyOf(good), 9, 2))), code: 'UNSUPPORTED_VERSION' },
  { name: 'version 0', hex: bytesToHex(redigest(withByte(bodyOf(good), 9, 0))), code: 'UNSUPPORTED_VERSION' },
  { name: 'a byte of a key flipped (digest)', hex: bytesToHex(withByte(good, SLOTS_AT + 10, good[SLOTS_AT + 10]! ^ 1)), code: 'MALFORMED' },
  { name: 'last byte of the digest flipped', hex: bytesToHex(withByte(good, good.length - 1, good[good.length - 1]! ^ 1)), code: 'MALFORMED' },
  { name: 'truncated by one byte', hex: bytesToHex(good.subarray(0, good.length - 1)), code: 'MALFORMED' },
  { name: 'truncated tables, digest recomputed', hex: bytesToHex(redigest(bodyOf(good).subarray(0, CHAINS_AT))), code: 'MALFORMED' },
  { name: 'a byte after the tables, digest recomputed', hex: bytesToHex(redigest(concatBytes(bodyOf(good), new Uint8Array([0])))), code: 'MALFORMED' },
  { name: 'registry flag 2, digest recomputed', hex: bytesToHex(redigest(withByte(bodyOf(good), HEADER, 2))), code: 'MALFORMED' },
  {
    name: 'slot count beyond the bytes left, digest recomputed',
    hex: bytesToHex(redigest(concatBytes(bodyOf(good).subarray(0, SLOTS_AT), u32(0x7fffffff), bodyOf(good).subarray(SLOTS_AT + 4)))),
    code: 'MALFORMED'
  },
  {
    name: 'a chain slot out of range, digest recomputed',
    hex: bytesToHex(redigest(concatBytes(bodyOf(good).subarray(0, CHAINS_AT + 4), u32(4), bodyOf(good).subarray(CHAINS_AT + 8)))),
    code: 'MALFORMED'
  },
  {
    name: 'a user id that is not UTF-8, digest recomputed',
    hex: bytesToHex(redigest(withByte(withByte(bodyOf(good), SLOTS_AT + 4 + 4 * 32 + 2, 0xff), SLOTS_AT + 4 + 4 * 32 + 3, 0xfe))),
    code: 'MALFORMED'
  }
]

mkdirSync(fileURLToPath(VECTORS_DIR), { recursive: true })
const data = {
  format: 'catalog checkpoint v1 (packages/ledger/src/catalog-checkpoint.ts)',
  valid: valids.map(([name, checkpoint]) => ({ name, input: toJson(checkpoint), hex: bytesToHex(encodeCatalogCheckpoint(checkpoint)) })),
  rejects
}
writeFileSync(new URL('catalog-checkpoint.json', VECTORS_DIR), JSON.stringify(data, null, 2) + '\n')
console.log('wrote catalog-checkpoint.json')
