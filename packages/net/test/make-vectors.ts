/**
 * Writes the known-answer vectors of the network wire formats to
 * packages/net/test/vectors/*.json.
 *
 *   npx tsx packages/net/test/make-vectors.ts
 *
 * Every input is fixed: real Hypercore heads come from Corestores opened in
 * temporary directories with a fixed primary key (so every named core has
 * the same key pair each run), with fixed blocks appended; Ed25519 is
 * deterministic. Running it again writes the same files. Regenerate only
 * when a wire format changes on purpose; packages/net/test/wire.test.ts
 * rebuilds the heads from `inputs` and checks every byte.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Corestore from 'corestore'
import {
  buildGenesis, buildMigrate, buildRekey, bytesToHex, concatBytes, coreKeyOfSigner, encodeCanonical, encodeEntry, MAX_ENTRY_BYTES, nextKeyDigest,
  signEntry, treeSignable, userKeysFromPhrase, utf8ToBytes, type InstitutionId, type MigratePlain, type UserKeys
} from '@healthchain/core'
import { hexToBytes } from '@noble/hashes/utils.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { sodiumProvider } from '@healthchain/core/sodium'
import { foldConsistency, readConsistencyNodes, storedTreeHash, type MerkleNode } from '@healthchain/ledger'
import {
  anyForkProofCodec, appendRequestCodec, appendResponseCodec, consistencyForkProofCodec, cosign, cosignMessage, cosignatureCodec,
  encodeAnyForkProof, forkProofCodec, forksSyncRequestCodec, forksSyncResponseCodec, headOf, headSignable, headsAnnouncementCodec,
  headsSyncRequestCodec, headsSyncResponseCodec, makeConsistencyForkProof, makeForkProof, MAX_ANY_FORK_PROOF_BYTES,
  MAX_APPEND_REQUEST_BYTES, MAX_APPEND_RESPONSE_BYTES, MAX_CONSISTENCY_FORK_PROOF_BYTES, MAX_CONSISTENCY_NODES,
  MAX_FORK_PROOF_BYTES, MAX_FORKS_SYNC_REQUEST_BYTES, MAX_FORKS_SYNC_RESPONSE_BYTES, MAX_HEADS_ANNOUNCEMENT_BYTES,
  MAX_HEADS_SYNC_REQUEST_BYTES, MAX_HEADS_SYNC_RESPONSE_BYTES, MAX_MY_CHAIN_MESSAGE_CHARS, MAX_MY_CHAIN_REQUEST_BYTES,
  MAX_MY_CHAIN_RESPONSE_BYTES, MAX_PROOFS_PER_SYNC, MAX_SIGNED_HEAD_BYTES, myChainRequestCodec, myChainResponseCodec,
  signedHeadCodec, moveForkProofCodec, MAX_MOVE_FORK_PROOF_BYTES, type Codec, type ConsistencyForkProof, type MoveForkProof, type SignedHead
} from '../src/wire/index.js'
import { compareBytes } from '../src/wire/codec.js'
import { encodeForkRecord } from '../src/fork-record.js'
import {
  continuationRequestCodec, continuationResponseCodec, MAX_CONTINUATION_MESSAGE_CHARS, MAX_CONTINUATION_REQUEST_BYTES,
  MAX_CONTINUATION_RESPONSE_BYTES
} from '../src/wire/continuation.js'

const VECTORS_DIR = new URL('./vectors/', import.meta.url)

// ------------------------------------------------------------------ JSON helpers

type Tagged = null | boolean | number | string | { $bytes: string } | Tagged[] | { [key: string]: Tagged }

/** Byte strings as { "$bytes": hex }, as in packages/core/test/vectors. */
function toTagged (value: unknown): Tagged {
  if (value instanceof Uint8Array) return { $bytes: bytesToHex(value) }
  if (Array.isArray(value)) return value.map(toTagged)
  if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') return value
  if (typeof value === 'object') {
    const out: Record<string, Tagged> = {}
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toTagged(v)
    return out
  }
  throw new Error(`cannot tag ${typeof value}`)
}

/** An input: hex, or parts (hex strings and { repeat: hex, count }) concatenated. */
type Part = string | { repeat: string, count: number }

interface ValidCase { name: string, decoder: string, hex?: string, parts?: Part[], value?: Tagged, [extra: string]: unknown }
interface RejectCase {
  name: string
  decoder: string
  stage: 'decode' | 'verify'
  hex?: string
  parts?: Part[]
  code: string
  field?: string
}

function write (name: string, data: unknown): void {
  mkdirSync(fileURLToPath(VECTORS_DIR), { recursive: true })
  writeFileSync(new URL(name, VECTORS_DIR), JSON.stringify(data, null, 2) + '\n')
  console.log(`wrote ${name}`)
}

const hex = bytesToHex

function valid<T> (codec: Codec<T>, name: string, value: T, extra: Record<string, unknown> = {}): ValidCase {
  const bytes = codec.encode(value)
  return { name, decoder: codec.name, hex: hex(bytes), value: toTagged(codec.decode(bytes)), ...extra }
}

/** A valid input too large to spell out: given as parts, without its decoded value. */
function validParts<T> (codec: Codec<T>, name: string, parts: Part[]): ValidCase {
  const bytes = assemble(parts)
  if (hex(codec.encode(codec.decode(bytes))) !== hex(bytes)) throw new Error(`${name}: does not round-trip`)
  return { name, decoder: codec.name, parts }
}

function assemble (parts: Part[]): Uint8Array {
  return concatBytes(...parts.map((p) => typeof p === 'string' ? hexToBytes(p) : hexToBytes(p.repeat.repeat(p.count))))
}

// ------------------------------------------------------------------ raw CBOR (for inputs the encoders refuse to write)

/** Canonical CBOR of a value the schemas need not accept. */
const cbor = (value: unknown): Uint8Array => encodeCanonical(value)

function header (major: number, n: number): Uint8Array {
  if (n < 24) return new Uint8Array([(major << 5) | n])
  if (n < 0x100) return new Uint8Array([(major << 5) | 24, n])
  if (n < 0x10000) return new Uint8Array([(major << 5) | 25, n >> 8, n & 0xff])
  return new Uint8Array([(major << 5) | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff])
}

/** A map written in exactly the given entry order, values given as raw CBOR bytes. */
function rawMap (entries: Array<[string, Uint8Array]>): Uint8Array {
  return concatBytes(header(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k), v]))
}

function flip (bytes: Uint8Array, index = 0): Uint8Array {
  const out = bytes.slice()
  out[index]! ^= 0x01
  return out
}

function reject (decoder: Codec<unknown>, name: string, input: Uint8Array | Part[], code: string, field?: string, stage: 'decode' | 'verify' = 'decode'): RejectCase {
  const base = { name, decoder: decoder.name, stage }
  const shaped = input instanceof Uint8Array ? { ...base, hex: hex(input) } : { ...base, parts: input }
  return field === undefined ? { ...shaped, code } : { ...shaped, code, field }
}

/** `bytes` followed by zeros up to `total` bytes: only the size matters, it is checked first. */
function padTo (bytes: Uint8Array, total: number): Part[] {
  return [hex(bytes), { repeat: '00', count: total - bytes.length }]
}

// ------------------------------------------------------------------ heads from real cores

const PRIMARY_KEY = sha256(utf8ToBytes('healthchain-test/net-vectors/primary-key'))
const BLOCK = (label: string): Uint8Array => utf8ToBytes(`healthchain test block: ${label}`)

interface CoreInput { store: 'first' | 'second', name: string, blocks: string[] }
const CORES: Record<string, CoreInput> = {
  a: { store: 'first', name: 'chain/vector-a', blocks: ['a0', 'a1', 'a2'] },
  b: { store: 'first', name: 'chain/vector-b', blocks: ['b0', 'b1'] },
  // The same named core (same key pair, same chain key) in a second store: the custodian signed another history.
  aFork: { store: 'second', name: 'chain/vector-a', blocks: ['a0', 'a1', 'a2 rewritten'] }
}

async function buildHeads (): Promise<Record<string, SignedHead>> {
  const heads: Record<string, SignedHead> = {}
  const dirs = { first: mkdtempSync(join(tmpdir(), 'hc-netvec-')), second: mkdtempSync(join(tmpdir(), 'hc-netvec-')) }
  const stores = {
    first: new Corestore(dirs.first, { primaryKey: PRIMARY_KEY, unsafe: true }),
    second: new Corestore(dirs.second, { primaryKey: PRIMARY_KEY, unsafe: true })
  }
  try {
    for (const [label, input] of Object.entries(CORES)) {
      const core = stores[input.store].get({ name: input.name })
      await core.ready()
      for (const [i, block] of input.blocks.entries()) {
        await core.append(BLOCK(block))
        heads[`${label}${i + 1}`] = await headOf(core)
      }
      await core.close()
    }
    continuationHead = await buildContinuationHead(stores.second)
  } finally {
    await stores.first.close()
    await stores.second.close()
    rmSync(dirs.first, { recursive: true, force: true })
    rmSync(dirs.second, { recursive: true, force: true })
  }
  return heads
}

/**
 * The head of a continuation core: manifest { version: 1, signers: [the store's key pair `continuation`], prologue:
 * the tree hash of core `a` at 2 }, blocks 0..1 a's (filled in one append), block 2 CONTINUATION_BLOCK.
 */
let continuationHead: SignedHead | undefined
const CONTINUATION_BLOCK = 'migrate'
async function buildContinuationHead (store: Corestore): Promise<SignedHead> {
  const old = store.get({ name: 'continuation-source' })
  await old.ready()
  await old.append([BLOCK('a0'), BLOCK('a1')]) // the first prologueLength blocks of inputs.continuation
  const hash = await storedTreeHash(old, 2)
  const keyPair = await store.createKeyPair('continuation')
  const core = store.get({ manifest: { version: 1, signers: [{ publicKey: keyPair.publicKey }], prologue: { hash, length: 2 } }, keyPair })
  await core.ready()
  await core.append([BLOCK('a0'), BLOCK('a1')])
  await core.append(BLOCK(CONTINUATION_BLOCK))
  const head = await headOf(core)
  await core.close()
  await old.close()
  return head
}

const heads = await buildHeads()
const A1 = heads.a1!
const A2 = heads.a2!
const A3 = heads.a3!
const B2 = heads.b2!
const F2 = heads.aFork2!
const F3 = heads.aFork3!
const C3 = continuationHead!
if (C3.prologue === undefined) throw new Error('the continuation head carries no prologue')
if (hex(F2.root) !== hex(A2.root) || hex(F3.root) === hex(A3.root)) throw new Error('fork cores did not diverge at block 2 as intended')

/** A head as a raw map with some fields replaced (raw CBOR) or removed (null). */
function headMap (head: SignedHead, changes: Record<string, Uint8Array | null> = {}, extra: Array<[string, Uint8Array]> = []): Uint8Array {
  const fields: Array<[string, Uint8Array]> = []
  for (const [k, v] of Object.entries(head)) {
    const change = changes[k]
    if (change === null) continue
    fields.push([k, change ?? cbor(v)])
  }
  for (const [k, v] of Object.entries(changes)) if (!(k in head) && v !== null) fields.push([k, v])
  fields.push(...extra)
  return rawMap(sortCanonically(fields))
}

function sortCanonically (entries: Array<[string, Uint8Array]>): Array<[string, Uint8Array]> {
  return entries.sort(([a], [b]) => {
    const x = cbor(a)
    const y = cbor(b)
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!
    return x.length - y.length
  })
}

// ------------------------------------------------------------------ heads.json

{
  const codec = signedHeadCodec as Codec<unknown>
  const base = signedHeadCodec.encode(A3)
  const nonMinimalLength = rawMap(sortCanonically(Object.entries(A3).map(([k, v]) => [k, k === 'length' ? new Uint8Array([0x18, 0x03]) : cbor(v)])))
  const outOfOrder = rawMap(sortCanonically(Object.entries(A3).map(([k, v]) => [k, cbor(v)])).reverse())
  const withHead = (changes: Partial<SignedHead>): Uint8Array => cbor({ ...A3, ...changes })
  write('heads.json', {
    description: 'SignedHead v1: { v: 1, key, signer, length, fork, root, sig, prologue?: { hash, length } } (canonical CBOR map). ' +
      'prologue only in a continuation core\'s head: key = Hypercore.key({ version: 1, signers: [signer], prologue }); ' +
      'The head "continuation": in the second store, core store.get({ name: source }) gets the first prologueLength blocks; ' +
      'the continuation core is store.get({ manifest: { version: 1, signers: [store.createKeyPair(keyPair).publicKey], prologue: ' +
      '{ hash: tree hash of source at prologueLength, length: prologueLength } }, keyPair }) with those blocks in one append, then the rest. ' +
      'Other heads come from real ' +
      'Hypercore cores: Corestore (corestore 7, hypercore 11.37.1) in an empty directory with primaryKey = inputs.primaryKey ' +
      '(unsafe: true), core = store.get({ name }), blocks appended one at a time; heads[i] is the head after block i. ' +
      'signable = caps.treeSignable(key, root, length, fork) = TREE namespace || key || root || u64le length || u64le fork; ' +
      'sig = Ed25519 over signable by signer; key = Hypercore.key(signer). Rejects: stage "decode" fails decodeSignedHead, ' +
      'stage "verify" decodes but fails assertHead, each with its NetError code (and field).',
    inputs: {
      primaryKey: hex(PRIMARY_KEY),
      cores: Object.entries(CORES).map(([label, c]) => ({ label, store: c.store, name: c.name, blocks: c.blocks.map((b) => hex(BLOCK(b))) })),
      continuation: {
        store: 'second',
        source: 'continuation-source',
        keyPair: 'continuation',
        prologueLength: 2,
        blocks: ['a0', 'a1', CONTINUATION_BLOCK].map((b) => hex(BLOCK(b)))
      }
    },
    valid: [
      ...Object.entries(heads).map(([label, head]) => valid(signedHeadCodec, label, head, { signable: hex(headSignable(head)) })),
      valid(signedHeadCodec, 'continuation', C3, { signable: hex(headSignable(C3)) })
    ],
    rejects: [
      reject(codec, 'not CBOR', new Uint8Array([0xff]), 'MALFORMED'),
      reject(codec, 'truncated', base.subarray(0, base.length - 1), 'MALFORMED'),
      reject(codec, 'trailing byte', concatBytes(base, new Uint8Array([0])), 'MALFORMED'),
      reject(codec, 'map keys in reverse order', outOfOrder, 'MALFORMED'),
      reject(codec, 'length as a non-minimal integer', nonMinimalLength, 'MALFORMED'),
      reject(codec, 'an array, not a map', cbor(Object.values(A3)), 'MALFORMED'),
      reject(codec, 'one byte over the size limit', padTo(base, MAX_SIGNED_HEAD_BYTES + 1), 'TOO_LARGE'),
      reject(codec, 'version 2', withHead({ v: 2 as 1 }), 'UNSUPPORTED_VERSION', 'v'),
      reject(codec, 'version 2 with a new field', headMap(A3, { v: cbor(2) }, [['next', cbor('x')]]), 'UNSUPPORTED_VERSION', 'v'),
      reject(codec, 'version missing', headMap(A3, { v: null }), 'INVALID_FIELD', 'v'),
      reject(codec, 'version as text', headMap(A3, { v: cbor('1') }), 'INVALID_FIELD', 'v'),
      reject(codec, 'unknown field', headMap(A3, {}, [['note', cbor('hi')]]), 'INVALID_FIELD', 'note'),
      reject(codec, 'key of 31 bytes', withHead({ key: A3.key.subarray(1) }), 'INVALID_FIELD', 'key'),
      reject(codec, 'signer missing', headMap(A3, { signer: null }), 'INVALID_FIELD', 'signer'),
      reject(codec, 'length 0', withHead({ length: 0 }), 'INVALID_FIELD', 'length'),
      reject(codec, 'length negative', withHead({ length: -3 }), 'INVALID_FIELD', 'length'),
      reject(codec, 'fork not an integer', withHead({ fork: 1.5 }), 'INVALID_FIELD', 'fork'),
      reject(codec, 'fork above 2^53 - 1', headMap(A3, { fork: new Uint8Array([0x1b, 0, 0x20, 0, 0, 0, 0, 0, 0]) }), 'MALFORMED'),
      reject(codec, 'root as text', headMap(A3, { root: cbor(hex(A3.root)) }), 'INVALID_FIELD', 'root'),
      reject(codec, 'sig of 63 bytes', withHead({ sig: A3.sig.subarray(1) }), 'INVALID_FIELD', 'sig'),
      reject(codec, 'sig of 65 bytes', withHead({ sig: concatBytes(A3.sig, new Uint8Array([0])) }), 'INVALID_FIELD', 'sig'),
      reject(codec, 'sig byte flipped', withHead({ sig: flip(A3.sig, 10) }), 'BAD_SIGNATURE', undefined, 'verify'),
      reject(codec, 'root byte flipped', withHead({ root: flip(A3.root, 31) }), 'BAD_SIGNATURE', undefined, 'verify'),
      reject(codec, 'key byte flipped', withHead({ key: flip(A3.key, 5) }), 'BAD_SIGNATURE', undefined, 'verify'),
      reject(codec, 'length one more', withHead({ length: A3.length + 1 }), 'BAD_SIGNATURE', undefined, 'verify'),
      reject(codec, 'fork one more', withHead({ fork: A3.fork + 1 }), 'BAD_SIGNATURE', undefined, 'verify'),
      reject(codec, 'signer of another chain (does not own key)', withHead({ signer: B2.signer }), 'BAD_SIGNATURE', undefined, 'verify'),
      reject(codec, 'key and signer of another chain', withHead({ key: B2.key, signer: B2.signer }), 'BAD_SIGNATURE', undefined, 'verify'),
      reject(codec, 'signature of another length', withHead({ sig: A2.sig }), 'BAD_SIGNATURE', undefined, 'verify'),
      reject(codec, 'continuation without its prologue', cbor(Object.fromEntries(Object.entries(C3).filter(([k]) => k !== 'prologue'))), 'BAD_SIGNATURE', undefined, 'verify'),
      reject(codec, 'continuation prologue length one less', cbor({ ...C3, prologue: { ...C3.prologue!, length: 1 } }), 'BAD_SIGNATURE', undefined, 'verify'),
      reject(codec, 'continuation prologue hash flipped', cbor({ ...C3, prologue: { ...C3.prologue!, hash: flip(C3.prologue!.hash, 0) } }),
        'BAD_SIGNATURE', undefined, 'verify'),
      reject(codec, 'first core head with a prologue', cbor({ ...A3, prologue: C3.prologue }), 'BAD_SIGNATURE', undefined, 'verify'),
      reject(codec, 'prologue length 0', cbor({ ...C3, prologue: { ...C3.prologue!, length: 0 } }), 'INVALID_FIELD', 'prologue.length'),
      reject(codec, 'prologue with an unknown field', cbor({ ...C3, prologue: { ...C3.prologue!, note: 1 } }), 'INVALID_FIELD', 'prologue.note')
    ]
  })
}

// ------------------------------------------------------------------ heads-announcement.json

{
  const codec = headsAnnouncementCodec as Codec<unknown>
  const headHex = hex(signedHeadCodec.encode(A3))
  const announce = (n: number): Part[] => [hex(concatBytes(header(5, 2), cbor('v'), cbor(1), cbor('heads'), header(4, n))), { repeat: headHex, count: n }]
  const big = Math.ceil(MAX_HEADS_ANNOUNCEMENT_BYTES / (headHex.length / 2)) + 1
  write('heads-announcement.json', {
    description: 'HeadsAnnouncement v1, gossiped on /healthchain/heads/1: { v: 1, heads: SignedHead[1..256] }, limit 64 KiB. ' +
      'Heads are those of heads.json. parts: hex strings and { repeat: hex, count } concatenated. Each head is verified on its own (no verify stage).',
    valid: [
      valid(headsAnnouncementCodec, 'one head', { v: 1, heads: [A3] }),
      valid(headsAnnouncementCodec, 'three heads of two chains', { v: 1, heads: [A1, B2, A3] }),
      validParts(headsAnnouncementCodec, '256 heads (a3 repeated)', announce(256))
    ],
    rejects: [
      reject(codec, 'no heads', cbor({ v: 1, heads: [] }), 'INVALID_FIELD', 'heads'),
      reject(codec, '257 heads', announce(257), 'INVALID_FIELD', 'heads'),
      reject(codec, 'over the size limit', announce(big), 'TOO_LARGE'),
      reject(codec, 'heads not an array', cbor({ v: 1, heads: signedHeadCodec.encode(A3) }), 'INVALID_FIELD', 'heads'),
      reject(codec, 'version 2', cbor({ v: 2, heads: [A3] }), 'UNSUPPORTED_VERSION', 'v'),
      reject(codec, 'unknown field', cbor({ v: 1, heads: [A3], from: 'x' }), 'INVALID_FIELD', 'from'),
      reject(codec, 'second head: root of 33 bytes', cbor({ v: 1, heads: [A3, { ...B2, root: concatBytes(B2.root, new Uint8Array([1])) }] }), 'INVALID_FIELD', 'heads.1.root'),
      reject(codec, 'first head: version 2', cbor({ v: 1, heads: [{ ...A3, v: 2 }] }), 'UNSUPPORTED_VERSION', 'heads.0.v'),
      reject(codec, 'first head: unknown field', cbor({ v: 1, heads: [{ ...A3, note: 1 }] }), 'INVALID_FIELD', 'heads.0.note'),
      reject(codec, 'first head: length 0', cbor({ v: 1, heads: [{ ...A3, length: 0 }] }), 'INVALID_FIELD', 'heads.0.length')
    ]
  })
}

// ------------------------------------------------------------------ fork-proofs.json

{
  const codec = forkProofCodec as Codec<unknown>
  const proof = makeForkProof(A3, F3)
  const ordered = (x: SignedHead, y: SignedHead): { v: 1, a: SignedHead, b: SignedHead } =>
    hex(x.root) < hex(y.root) ? { v: 1, a: x, b: y } : { v: 1, a: y, b: x }
  const forgedRoot = { ...A3, root: flip(A3.root, 31) }
  write('fork-proofs.json', {
    description: 'ForkProof v1: { v: 1, a: SignedHead, b: SignedHead } with a.root < b.root bytewise; a fork iff same key, same ' +
      'length, different roots (fork ids may differ), both heads valid. a3/aFork3 of heads.json are two histories of one chain ' +
      '(same key pair in two stores). Rejects: stage "decode" fails decodeForkProof, stage "verify" decodes but fails assertForkProof.',
    valid: [valid(forkProofCodec, 'a3 and aFork3', proof)],
    rejects: [
      reject(codec, 'two identical heads', cbor({ v: 1, a: A3, b: A3 }), 'NOT_A_FORK'),
      reject(codec, 'same history at length 2 (same root)', cbor({ v: 1, a: A2, b: F2 }), 'NOT_A_FORK'),
      reject(codec, 'different lengths', cbor(ordered(A2, F3)), 'NOT_A_FORK'),
      reject(codec, 'different chains', cbor(ordered(A2, B2)), 'NOT_A_FORK'),
      reject(codec, 'heads not in root order', cbor({ v: 1, a: proof.b, b: proof.a }), 'INVALID_FIELD', 'a.root'),
      reject(codec, 'b missing', cbor({ v: 1, a: proof.a }), 'INVALID_FIELD', 'b'),
      reject(codec, 'a: sig of 63 bytes', cbor({ ...proof, a: { ...proof.a, sig: proof.a.sig.subarray(1) } }), 'INVALID_FIELD', 'a.sig'),
      reject(codec, 'b: version 2', cbor({ ...proof, b: { ...proof.b, v: 2 } }), 'UNSUPPORTED_VERSION', 'b.v'),
      reject(codec, 'version 2', cbor({ ...proof, v: 2 }), 'UNSUPPORTED_VERSION', 'v'),
      reject(codec, 'unknown field', cbor({ ...proof, seen: 1 }), 'INVALID_FIELD', 'seen'),
      reject(codec, 'b: sig byte flipped', cbor({ ...proof, b: { ...proof.b, sig: flip(proof.b.sig, 3) } }), 'BAD_SIGNATURE', 'b', 'verify'),
      reject(codec, 'a: signer of another chain', cbor({ ...proof, a: { ...proof.a, signer: B2.signer } }), 'BAD_SIGNATURE', 'a', 'verify'),
      reject(codec, 'a forged root (unsigned) against a real head', cbor(ordered(forgedRoot, A3)), 'BAD_SIGNATURE', undefined, 'verify')
    ]
  })
}

// ------------------------------------------------------------------ move-fork-proofs.json

{
  // Made by hand, with no core: the old custodian's heads are signed over treeSignable like Hypercore's.
  const PHRASE = `${'abandon '.repeat(23)}art`
  const [u0, u1, u2] = [0, 1, 2].map((g) => userKeysFromPhrase(PHRASE, sodiumProvider, g)) as [UserKeys, UserKeys, UserKeys]
  const custodianSeed = sha256(utf8ToBytes('healthchain-test/net-vectors/old-custodian'))
  const custodian = sodiumProvider.signKeyPairFromSeed(custodianSeed)
  const oldKey = coreKeyOfSigner(custodian.publicKey)
  const headAt = (length: number, label: string): SignedHead => {
    const root = sha256(utf8ToBytes(label))
    const sig = sodiumProvider.sign(treeSignable(oldKey, root, length, 0), custodian.secretKey)
    return { v: 1, key: oldKey, signer: custodian.publicKey, length, fork: 0, root, sig }
  }
  const common = (i: number): { id: Uint8Array, time: number } => ({ id: sha256(utf8ToBytes(`move-vector-${i}`)).subarray(0, 16), time: 1_760_000_000_000 })
  const a = headAt(3, 'root at 3')
  const b = headAt(4, 'root at 4')
  const sameLength = headAt(3, 'another root at 3')
  const genesis = signEntry(buildGenesis(u0, 'hospital-a' as InstitutionId, { next: nextKeyDigest(u1), ...common(0) }, sodiumProvider),
    { chainKey: oldKey, seq: 0 }, u0.sign.secretKey, sodiumProvider)
  const rekey = signEntry(buildRekey(1, u1, u2, common(1), sodiumProvider), { chainKey: oldKey, seq: 1 }, u1.sign.secretKey, sodiumProvider)
  const plain: MigratePlain = { from: oldKey, length: 3, fork: 0, prologue: a.root, signer: custodian.publicKey, headSig: a.sig, to: 'hospital-b' as InstitutionId, lineage: [] }
  const contB = sha256(utf8ToBytes('continuation at hospital-b'))
  const contC = sha256(utf8ToBytes('continuation at hospital-c'))
  const migrate = (p: MigratePlain, key: Uint8Array, signer: UserKeys, i: number, seq = 3): Uint8Array =>
    encodeEntry(signEntry(buildMigrate(p, common(i), sodiumProvider), { chainKey: key, seq }, signer.sign.secretKey, sodiumProvider))
  const toB = { key: contB, migrate: migrate(plain, contB, u1, 2) }
  const toC = { key: contC, migrate: migrate({ ...plain, to: 'hospital-c' as InstitutionId }, contC, u1, 3) }
  const history = [{ seq: 0, entry: encodeEntry(genesis) }, { seq: 1, entry: encodeEntry(rekey) }]
  const custodianProof: MoveForkProof = { v: 3, a, b, moves: [toB], history }
  const two = compareBytes(toB.migrate, toC.migrate) < 0 ? [toB, toC] : [toC, toB]
  const userProof: MoveForkProof = { v: 3, a, b: a, moves: two, history }
  const codec = moveForkProofCodec as Codec<unknown>
  const withProof = (changes: Partial<Record<keyof MoveForkProof, unknown>>, base: MoveForkProof = custodianProof): Uint8Array => cbor({ ...base, ...changes })
  const base = moveForkProofCodec.encode(custodianProof)
  write('move-fork-proofs.json', {
    description: 'MoveForkProof (ForkProof version 3): { v: 3, a: SignedHead, b: SignedHead, moves: [{ key, migrate }][1..2], ' +
      'history: [{ seq, entry }][1..8] }. a = the old custodian\'s head at N that every migrate carries; one move: b a head of a.key ' +
      'beyond N (the old custodian wrote after the move); two moves: b = a, two different migrates of the user from that head, ' +
      'ordered by their bytes. history = the genesis and the rekeys below N, each checked for (its segment\'s key, seq); the last ' +
      'key revealed verifies each migrate for (its key, N). Made by hand: user keys from inputs.phrase (generations 0..2), the old ' +
      'custodian\'s key pair Ed25519 from inputs.custodianSeed, chain key = Hypercore.key(signer), roots = SHA-256 of labels. ' +
      'Rejects: stage "decode" fails the codec, stage "verify" fails assertMoveForkProof.',
    inputs: { phrase: PHRASE, custodianSeed: hex(custodianSeed) },
    valid: [
      valid(moveForkProofCodec, 'the old custodian beyond N', custodianProof),
      valid(moveForkProofCodec, 'two migrates from one head', userProof),
      valid(anyForkProofCodec, 'as any fork proof', custodianProof)
    ],
    rejects: [
      reject(codec, 'version 2', withProof({ v: 2 }), 'UNSUPPORTED_VERSION', 'v'),
      reject(codec, 'no moves', withProof({ moves: [] }), 'INVALID_FIELD', 'moves'),
      reject(codec, 'three moves', withProof({ moves: [...two, toB] }), 'INVALID_FIELD', 'moves'),
      reject(codec, 'two moves out of order', withProof({ moves: [...two].reverse() }, userProof), 'INVALID_FIELD', 'moves'),
      reject(codec, 'the same move twice', withProof({ moves: [toB, toB] }, userProof), 'INVALID_FIELD', 'moves'),
      reject(codec, 'no history', withProof({ history: [] }), 'INVALID_FIELD', 'history'),
      reject(codec, 'nine history entries', withProof({ history: Array.from({ length: 9 }, () => history[1]) }), 'INVALID_FIELD', 'history'),
      reject(codec, 'one byte over the size limit', padTo(base, MAX_MOVE_FORK_PROOF_BYTES + 1), 'TOO_LARGE'),
      reject(codec, 'b at N, not beyond', withProof({ b: sameLength }), 'NOT_A_FORK', undefined, 'verify'),
      reject(codec, 'two moves with b beyond N', withProof({ b }, userProof), 'NOT_A_FORK', undefined, 'verify'),
      reject(codec, 'b signature flipped', withProof({ b: { ...b, sig: flip(b.sig, 3) } }), 'BAD_SIGNATURE', 'b', 'verify'),
      reject(codec, 'a migrate from another head', withProof({ moves: [{ key: contB, migrate: migrate({ ...plain, length: 4, prologue: b.root, headSig: b.sig }, contB, u1, 4, 4) }] }),
        'INVALID_FIELD', 'moves.0.migrate', 'verify'),
      reject(codec, 'not a migrate', withProof({ moves: [{ key: contB, migrate: encodeEntry(genesis) }] }), 'INVALID_FIELD', 'moves.0.migrate', 'verify'),
      reject(codec, 'migrate signed with the rotated-out key', withProof({ moves: [{ key: contB, migrate: migrate(plain, contB, u0, 5) }] }),
        'BAD_SIGNATURE', 'moves.0.migrate', 'verify'),
      reject(codec, 'migrate for another continuation key', withProof({ moves: [{ key: contC, migrate: toB.migrate }] }), 'BAD_SIGNATURE', 'moves.0.migrate', 'verify'),
      reject(codec, 'the rekey left out', withProof({ history: [history[0]] }), 'BAD_SIGNATURE', 'moves.0.migrate', 'verify'),
      reject(codec, 'the rekey at another position', withProof({ history: [history[0], { ...history[1]!, seq: 2 }] }), 'BAD_SIGNATURE', 'history.1', 'verify'),
      reject(codec, 'the history without its genesis', withProof({ history: [history[1]] }), 'INVALID_FIELD', 'history.0.seq', 'verify'),
      reject(codec, 'a rekey at N', withProof({ history: [history[0], { ...history[1]!, seq: 3 }] }), 'INVALID_FIELD', 'history.1.seq', 'verify')
    ]
  })
}

// ------------------------------------------------------------------ consistency-fork-proofs.json

/**
 * Longer histories of chain a, each in a store of its own with the same
 * primary key (the same chain key pair): `long` extends history a honestly,
 * `fork` extends aFork's block 2, `early` differs from block 0 on. Built
 * apart from CORES, so heads.json stays as it was.
 */
const HISTORIES: Record<string, { name: string, blocks: string[] }> = {
  long: { name: 'chain/vector-a', blocks: ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'] },
  fork: { name: 'chain/vector-a', blocks: ['a0', 'a1', 'a2 rewritten', 'a3 rewritten', 'a4 rewritten'] },
  early: { name: 'chain/vector-a', blocks: ['a0 rewritten', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6'] }
}

interface History { heads: SignedHead[], nodes: (a: number, b: number) => MerkleNode[] }

/** Each history's heads (heads[i] after i + 1 blocks) and its consistency nodes for any (a, b). */
async function buildHistories (): Promise<Record<string, History>> {
  const out: Record<string, History> = {}
  for (const [label, input] of Object.entries(HISTORIES)) {
    const dir = mkdtempSync(join(tmpdir(), 'hc-netvec-'))
    const store = new Corestore(dir, { primaryKey: PRIMARY_KEY, unsafe: true })
    try {
      const core = store.get({ name: input.name })
      await core.ready()
      const historyHeads: SignedHead[] = []
      for (const block of input.blocks) {
        await core.append(BLOCK(block))
        historyHeads.push(await headOf(core))
      }
      const nodes = new Map<string, MerkleNode[]>()
      for (let b = 2; b <= input.blocks.length; b++) {
        for (let a = 1; a < b; a++) nodes.set(`${a}/${b}`, (await readConsistencyNodes(core, a, b))!)
      }
      out[label] = { heads: historyHeads, nodes: (a, b) => nodes.get(`${a}/${b}`)! }
      await core.close()
    } finally {
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
  return out
}

const histories = await buildHistories()
const L8 = histories.long!.heads[7]!
const F4 = histories.fork!.heads[3]!
const F5 = histories.fork!.heads[4]!
const E7 = histories.early!.heads[6]!
if (hex(histories.long!.heads[2]!.root) !== hex(A3.root) || hex(histories.fork!.heads[2]!.root) !== hex(F3.root)) {
  throw new Error('the longer histories do not extend a3 and aFork3 as intended')
}

/** A proof's nodes as CBOR values (tuples), for hand-made variants. */
const tuples = (nodes: readonly MerkleNode[]): Array<[number, number, Uint8Array]> => nodes.map((n) => [n.index, n.size, n.hash])

{
  const codec = consistencyForkProofCodec as Codec<unknown>
  const any = anyForkProofCodec as Codec<unknown>
  const proof = makeConsistencyForkProof(A3, F5, histories.fork!.nodes(3, 5))
  const nodes = proof.nodes
  const withNodes = (changed: unknown[]): Uint8Array => cbor({ ...proof, nodes: changed })
  const flippedHash = nodes.map((n, i): [number, number, Uint8Array] => i === 2 ? [n[0], n[1], flip(n[2], 7)] : n)
  // Nodes of a tree nobody signed, with the root they fold to: decodes, and only b's signature gives it away.
  const madeUp = tuples(foldable(flippedHash))
  const madeUpRoot = foldConsistency(3, 5, foldable(flippedHash)).root
  const v1 = makeForkProof(A3, F3)
  const big = (n: number): Array<[number, number, Uint8Array]> => Array.from({ length: n }, (_, i) => [i, 1, A3.root])
  write('consistency-fork-proofs.json', {
    description: 'ConsistencyForkProof (ForkProof version 2): { v: 2, a: SignedHead, b: SignedHead, nodes: [[index, size, hash], ...] } ' +
      'with a.length < b.length <= 2^52; nodes = the Merkle consistency proof from a.length to b.length in b\'s tree (the full roots of ' +
      'a.length, the right siblings up to b\'s root above them, b\'s later roots; flat-tree indexes in order), folding to b.root ' +
      '(hypercore-crypto parent and tree hashing); a fork iff the root they give a.length differs from a.root and both heads verify. ' +
      `At most ${MAX_CONSISTENCY_NODES} nodes, ${MAX_CONSISTENCY_FORK_PROOF_BYTES} bytes. Heads a1, a3, aFork3 as in heads.json; the longer ` +
      'histories are built like heads.json\'s cores (same primary key, each in a store of its own) from inputs.histories; nodes are ' +
      'read from the longer history\'s core. AnyForkProof cases: the dispatcher on `v` that the forks topic, forks-sync and the fork ' +
      'registry use (v 1 ForkProof <= 512 bytes, v 2 ConsistencyForkProof). Rejects: stage "decode" fails the decoder, stage "verify" ' +
      'decodes but fails assertConsistencyForkProof / assertAnyForkProof.',
    inputs: {
      primaryKey: hex(PRIMARY_KEY),
      histories: Object.entries(HISTORIES).map(([label, h]) => ({ label, name: h.name, blocks: h.blocks.map((b) => hex(BLOCK(b))) }))
    },
    valid: [
      valid(consistencyForkProofCodec, 'a3 against the fork history at 4', makeConsistencyForkProof(A3, F4, histories.fork!.nodes(3, 4))),
      valid(consistencyForkProofCodec, 'a3 against the fork history at 5', proof),
      valid(consistencyForkProofCodec, 'aFork3 against the long history at 8', makeConsistencyForkProof(F3, L8, histories.long!.nodes(3, 8))),
      valid(consistencyForkProofCodec, 'a1 against the early history at 7', makeConsistencyForkProof(A1, E7, histories.early!.nodes(1, 7))),
      valid(anyForkProofCodec, 'any: a version 1 proof (a3 and aFork3)', v1),
      valid(anyForkProofCodec, 'any: a version 2 proof (a3 against the fork history at 5)', proof)
    ],
    rejects: [
      reject(codec, 'consistent: the long history at 8 extends a3', cbor({ v: 2, a: A3, b: L8, nodes: tuples(histories.long!.nodes(3, 8)) }), 'NOT_A_FORK'),
      reject(codec, 'different chains', cbor({ v: 2, a: B2, b: F4, nodes: tuples(histories.fork!.nodes(2, 4)) }), 'NOT_A_FORK'),
      reject(codec, 'one length (a version 1 proof)', cbor({ v: 2, a: A3, b: F3, nodes }), 'INVALID_FIELD', 'b.length'),
      reject(codec, 'the longer head first', cbor({ ...proof, a: F5, b: A3 }), 'INVALID_FIELD', 'b.length'),
      reject(codec, 'b.length over 2^52', cbor({ ...proof, b: { ...F5, length: 2 ** 52 + 1 } }), 'INVALID_FIELD', 'b.length'),
      reject(codec, 'a node missing', withNodes(nodes.slice(0, -1)), 'INVALID_FIELD', 'nodes'),
      reject(codec, 'a node too many', withNodes([...nodes, nodes[0]]), 'INVALID_FIELD', 'nodes'),
      reject(codec, 'nodes out of order', withNodes([nodes[1], nodes[0], ...nodes.slice(2)]), 'INVALID_FIELD', 'nodes.0.0'),
      reject(codec, 'a node at another index', withNodes(nodes.map((n, i) => i === 2 ? [n[0] + 2, n[1], n[2]] : n)), 'INVALID_FIELD', 'nodes.2.0'),
      reject(codec, 'no nodes', withNodes([]), 'INVALID_FIELD', 'nodes'),
      reject(codec, `${MAX_CONSISTENCY_NODES + 1} nodes`, withNodes(big(MAX_CONSISTENCY_NODES + 1)), 'INVALID_FIELD', 'nodes'),
      reject(codec, 'a node of two fields', withNodes([[nodes[0]![0], nodes[0]![1]], ...nodes.slice(1)]), 'INVALID_FIELD', 'nodes.0'),
      reject(codec, 'a node hash of 31 bytes', withNodes([[nodes[0]![0], nodes[0]![1], nodes[0]![2].subarray(1)], ...nodes.slice(1)]), 'INVALID_FIELD', 'nodes.0.2'),
      reject(codec, 'a node size negative', withNodes([[nodes[0]![0], -1, nodes[0]![2]], ...nodes.slice(1)]), 'INVALID_FIELD', 'nodes.0.1'),
      reject(codec, 'a node hash flipped', withNodes(flippedHash), 'BAD_PROOF', 'nodes'),
      reject(codec, 'a node size changed', withNodes(nodes.map((n, i) => i === 1 ? [n[0], n[1] + 1, n[2]] : n)), 'BAD_PROOF', 'nodes'),
      reject(codec, 'b.root flipped', cbor({ ...proof, b: { ...F5, root: flip(F5.root, 0) } }), 'BAD_PROOF', 'nodes'),
      reject(codec, 'version 1', cbor({ ...proof, v: 1 }), 'UNSUPPORTED_VERSION', 'v'),
      reject(codec, 'version 3', cbor({ ...proof, v: 3 }), 'UNSUPPORTED_VERSION', 'v'),
      reject(codec, 'a: version 2', cbor({ ...proof, a: { ...A3, v: 2 } }), 'UNSUPPORTED_VERSION', 'a.v'),
      reject(codec, 'unknown field', cbor({ ...proof, seen: 1 }), 'INVALID_FIELD', 'seen'),
      reject(codec, 'map keys in reverse order', rawMap(sortCanonically(Object.entries(proof).map(([k, v]) => [k, cbor(v)])).reverse()), 'MALFORMED'),
      reject(codec, 'one byte over the size limit', padTo(cbor(proof), MAX_CONSISTENCY_FORK_PROOF_BYTES + 1), 'TOO_LARGE'),
      reject(codec, 'a: sig byte flipped', cbor({ ...proof, a: { ...A3, sig: flip(A3.sig, 3) } }), 'BAD_SIGNATURE', 'a', 'verify'),
      reject(codec, 'b: sig byte flipped', cbor({ ...proof, b: { ...F5, sig: flip(F5.sig, 3) } }), 'BAD_SIGNATURE', 'b', 'verify'),
      reject(codec, 'a: signer of another chain', cbor({ ...proof, a: { ...A3, signer: B2.signer } }), 'BAD_SIGNATURE', 'a', 'verify'),
      reject(codec, 'a forged shorter head (a root nobody signed) against a real longer one', cbor({ ...proof, a: { ...A3, root: flip(A3.root, 31) } }), 'BAD_SIGNATURE', 'a', 'verify'),
      reject(codec, 'b made up: nodes of a tree nobody signed, and the root they fold to', cbor({ ...proof, b: { ...F5, root: madeUpRoot }, nodes: madeUp }), 'BAD_SIGNATURE', 'b', 'verify'),
      reject(any, 'any: version 4', cbor({ ...proof, v: 4 }), 'UNSUPPORTED_VERSION', 'v'),
      reject(any, 'any: version missing', cbor({ a: A3, b: F3 }), 'INVALID_FIELD', 'v'),
      reject(any, 'any: version as text', cbor({ ...v1, v: '1' }), 'INVALID_FIELD', 'v'),
      reject(any, 'any: an array, not a map', cbor([1, A3, F3]), 'MALFORMED'),
      reject(any, 'any: not CBOR', new Uint8Array([0xff]), 'MALFORMED'),
      reject(any, `any: a version 1 proof over its own ${MAX_FORK_PROOF_BYTES}-byte limit`, cbor({ ...v1, pad: 'x'.repeat(MAX_FORK_PROOF_BYTES) }), 'TOO_LARGE'),
      reject(any, 'any: one byte over the size limit', padTo(cbor(proof), MAX_ANY_FORK_PROOF_BYTES + 1), 'TOO_LARGE'),
      reject(any, 'any: version 2, consistent', cbor({ v: 2, a: A3, b: L8, nodes: tuples(histories.long!.nodes(3, 8)) }), 'NOT_A_FORK'),
      reject(any, 'any: version 1, b: sig byte flipped', cbor({ ...v1, b: { ...v1.b, sig: flip(v1.b.sig, 3) } }), 'BAD_SIGNATURE', 'b', 'verify'),
      reject(any, 'any: version 2, b: sig byte flipped', cbor({ ...proof, b: { ...F5, sig: flip(F5.sig, 3) } }), 'BAD_SIGNATURE', 'b', 'verify')
    ]
  })
}

/** Tuples as Merkle nodes. */
function foldable (nodes: ReadonlyArray<readonly [number, number, Uint8Array]>): MerkleNode[] {
  return nodes.map(([index, size, hash]) => ({ index, size, hash }))
}

// ------------------------------------------------------------------ forks-sync.json

{
  const req = forksSyncRequestCodec as Codec<unknown>
  const res = forksSyncResponseCodec as Codec<unknown>
  const v1 = encodeAnyForkProof(makeForkProof(A3, F3))
  const v2 = encodeAnyForkProof(makeConsistencyForkProof(A3, F5, histories.fork!.nodes(3, 5)))
  const responseWith = (n: number, proof: Uint8Array): Part[] => [
    hex(concatBytes(header(5, 4), cbor('v'), cbor(1), cbor('more'), cbor(true), cbor('next'), cbor(n), cbor('proofs'), header(4, n))),
    { repeat: hex(cbor(proof)), count: n }
  ]
  const biggest = new Uint8Array(MAX_ANY_FORK_PROOF_BYTES).fill(0xab)
  const over = Math.ceil(MAX_FORKS_SYNC_RESPONSE_BYTES / biggest.length) + 1
  write('forks-sync.json', {
    description: 'Forks sync v1 (/healthchain/forks-sync/1.0.0). ForksSyncRequest { v: 1, since: uint } (limit ' +
      `${MAX_FORKS_SYNC_REQUEST_BYTES} bytes); ForksSyncResponse { v: 1, proofs: bytes[0..${MAX_PROOFS_PER_SYNC}], next: uint, more: bool } ` +
      `(limit ${MAX_FORKS_SYNC_RESPONSE_BYTES} bytes), each proof the canonical encoding of a fork proof of either version ` +
      `(at most ${MAX_ANY_FORK_PROOF_BYTES} bytes; decoded and verified one by one by the requester, not by this codec). ` +
      'The proofs here are consistency-fork-proofs.json\'s "any" cases. parts: hex strings and { repeat: hex, count } concatenated.',
    valid: [
      valid(forksSyncRequestCodec, 'from the start', { v: 1, since: 0 }),
      valid(forksSyncRequestCodec, 'from a cursor', { v: 1, since: 4_294_967_296 }),
      valid(forksSyncResponseCodec, 'a proof of each version, done', { v: 1, proofs: [v1, v2], next: 2, more: false }),
      valid(forksSyncResponseCodec, 'nothing new', { v: 1, proofs: [], next: 0, more: false }),
      validParts(forksSyncResponseCodec, `${MAX_PROOFS_PER_SYNC} proofs of the largest size, more to come`, responseWith(MAX_PROOFS_PER_SYNC, biggest))
    ],
    rejects: [
      reject(req, 'since negative', cbor({ v: 1, since: -1 }), 'INVALID_FIELD', 'since'),
      reject(req, 'since missing', cbor({ v: 1 }), 'INVALID_FIELD', 'since'),
      reject(req, 'unknown field', cbor({ v: 1, since: 0, limit: 10 }), 'INVALID_FIELD', 'limit'),
      reject(req, 'version 2', cbor({ v: 2, since: 0 }), 'UNSUPPORTED_VERSION', 'v'),
      reject(req, 'over the size limit', padTo(cbor({ v: 1, since: 0 }), MAX_FORKS_SYNC_REQUEST_BYTES + 1), 'TOO_LARGE'),
      reject(res, `${MAX_PROOFS_PER_SYNC + 1} proofs`, cbor({ v: 1, proofs: Array.from({ length: MAX_PROOFS_PER_SYNC + 1 }, () => v1), next: 17, more: true }), 'INVALID_FIELD', 'proofs'),
      reject(res, 'a proof one byte over its limit', cbor({ v: 1, proofs: [v1, new Uint8Array(MAX_ANY_FORK_PROOF_BYTES + 1)], next: 2, more: false }), 'TOO_LARGE', 'proofs.1'),
      reject(res, 'an empty proof', cbor({ v: 1, proofs: [new Uint8Array(0)], next: 1, more: false }), 'INVALID_FIELD', 'proofs.0'),
      reject(res, 'a proof as a map, not bytes', cbor({ v: 1, proofs: [makeForkProof(A3, F3)], next: 1, more: false }), 'INVALID_FIELD', 'proofs.0'),
      reject(res, 'more missing', cbor({ v: 1, proofs: [], next: 0 }), 'INVALID_FIELD', 'more'),
      reject(res, 'over the size limit', responseWith(over, biggest), 'TOO_LARGE'),
      reject(res, 'version 2', cbor({ v: 2, proofs: [], next: 0, more: false }), 'UNSUPPORTED_VERSION', 'v')
    ]
  })
}

// ------------------------------------------------------------------ fork-records.json

{
  const v1 = makeForkProof(A3, F3)
  const v2: ConsistencyForkProof = makeConsistencyForkProof(A3, F5, histories.fork!.nodes(3, 5))
  const record = (name: string, bytes: Uint8Array, proof: Uint8Array): { name: string, hex: string, proof: string } => (
    { name, hex: hex(bytes), proof: hex(proof) }
  )
  const refused = (name: string, bytes: Uint8Array, code: string): { name: string, hex: string, code: string } => ({ name, hex: hex(bytes), code })
  write('fork-records.json', {
    description: 'Fork registry records, one per block of the local core local/fork-proofs (packages/net/src/fork-record.ts). ' +
      'Record version 2 (written): 0x02 || the canonical encoding of a fork proof of either version. Record version 1 (read, ' +
      'never written): the bare encoding of a ForkProof v1, as builds wrote before records carried a version; its first byte is ' +
      'a CBOR map header (0xa0-0xbf). `proof` is the encoding of the proof a valid record holds; rejects give decodeForkRecord\'s ' +
      'NetError code (the registry skips such a block).',
    valid: [
      record('version 1: a bare ForkProof v1', forkProofCodec.encode(v1), encodeAnyForkProof(v1)),
      record('version 2 holding a ForkProof v1', encodeForkRecord(v1), encodeAnyForkProof(v1)),
      record('version 2 holding a ConsistencyForkProof', encodeForkRecord(v2), encodeAnyForkProof(v2))
    ],
    rejects: [
      refused('empty', new Uint8Array(0), 'MALFORMED'),
      refused('record version 3', concatBytes(new Uint8Array([3]), encodeAnyForkProof(v1)), 'UNSUPPORTED_VERSION'),
      refused('record version 0', concatBytes(new Uint8Array([0]), encodeAnyForkProof(v1)), 'UNSUPPORTED_VERSION'),
      refused('version 2, its proof cut short', encodeForkRecord(v2).subarray(0, 100), 'MALFORMED'),
      refused('version 2, nothing after the version', new Uint8Array([2]), 'MALFORMED'),
      refused('version 1 holding a version 2 proof (never written so)', encodeAnyForkProof(v2), 'UNSUPPORTED_VERSION')
    ]
  })
}

// ------------------------------------------------------------------ cosignatures.json

{
  const codec = cosignatureCodec as Codec<unknown>
  const seed = sha256(utf8ToBytes('healthchain-test/net-vectors/witness'))
  const witness = sodiumProvider.signKeyPairFromSeed(seed)
  const otherSeed = sha256(utf8ToBytes('healthchain-test/net-vectors/not-the-witness'))
  const other = sodiumProvider.signKeyPairFromSeed(otherSeed)
  const id = 'regulator-eu'
  const c3 = cosign(A3, id, witness.secretKey)
  const cB = cosign(B2, id, witness.secretKey)
  write('cosignatures.json', {
    description: 'Cosignature v1: { v: 1, head: SignedHead, witness: institution id, sig } where sig = the witness\'s Ed25519 ' +
      'signature over message = "healthchain/v1/cosign" 0x00 || head.key || u64be(head.length) || head.root || u64be(head.fork) ' +
      '(102 bytes). The witness key pair is Ed25519 from witness.seed. Rejects: stage "decode" fails decodeCosignature, stage ' +
      '"verify" decodes but fails assertCosignature(c, witness.publicKey).',
    witness: { id, seed: hex(seed), publicKey: hex(witness.publicKey) },
    valid: [
      valid(cosignatureCodec, 'a3 by regulator-eu', c3, { message: hex(cosignMessage(A3)) }),
      valid(cosignatureCodec, 'b2 by regulator-eu', cB, { message: hex(cosignMessage(B2)) })
    ],
    rejects: [
      reject(codec, 'witness "user" (reserved)', cbor({ ...c3, witness: 'user' }), 'INVALID_FIELD', 'witness'),
      reject(codec, 'witness with capitals', cbor({ ...c3, witness: 'Regulator-EU' }), 'INVALID_FIELD', 'witness'),
      reject(codec, 'sig of 63 bytes', cbor({ ...c3, sig: c3.sig.subarray(1) }), 'INVALID_FIELD', 'sig'),
      reject(codec, 'head missing', cbor({ v: 1, witness: id, sig: c3.sig }), 'INVALID_FIELD', 'head'),
      reject(codec, 'head: version 2', cbor({ ...c3, head: { ...A3, v: 2 } }), 'UNSUPPORTED_VERSION', 'head.v'),
      reject(codec, 'version 2', cbor({ ...c3, v: 2 }), 'UNSUPPORTED_VERSION', 'v'),
      reject(codec, 'unknown field', cbor({ ...c3, time: 1 }), 'INVALID_FIELD', 'time'),
      reject(codec, 'sig byte flipped', cbor({ ...c3, sig: flip(c3.sig, 63) }), 'BAD_SIGNATURE', 'sig', 'verify'),
      reject(codec, 'head root flipped (head and cosignature both fail; head first)', cbor({ ...c3, head: { ...A3, root: flip(A3.root) } }), 'BAD_SIGNATURE', 'head', 'verify'),
      reject(codec, 'cosignature of another head', cbor({ ...c3, sig: cB.sig }), 'BAD_SIGNATURE', 'sig', 'verify'),
      reject(codec, 'signed by another key', cbor({ ...c3, sig: sodiumProvider.sign(cosignMessage(A3), other.secretKey) }), 'BAD_SIGNATURE', 'sig', 'verify')
    ]
  })
}

// ------------------------------------------------------------------ append.json

{
  const req = appendRequestCodec as Codec<unknown>
  const res = appendResponseCodec as Codec<unknown>
  const block = utf8ToBytes('an encoded entry (opaque to this protocol)')
  const request = { v: 1, chain: A3.key, seq: 3, block } as const
  const maxBlock = MAX_ENTRY_BYTES
  const requestWithBlock = (n: number): Part[] => [
    hex(concatBytes(header(5, 4), cbor('v'), cbor(1), cbor('seq'), cbor(3), cbor('block'), header(2, n))),
    { repeat: 'ab', count: n },
    hex(concatBytes(cbor('chain'), cbor(A3.key)))
  ]
  const refused = { v: 1, ok: false, code: 'STALE_POSITION', message: 'the chain has moved on: re-sign for its current length', length: 5 } as const
  write('append.json', {
    description: 'Append forwarding v1 (/healthchain/append/1.0.0). AppendRequest { v: 1, chain: bytes32, seq: uint, ' +
      `block: bytes[1..${MAX_ENTRY_BYTES}] } (limit ${MAX_APPEND_REQUEST_BYTES} bytes); AppendResponse { v: 1, ok: true, seq, ` +
      `duplicate } | { v: 1, ok: false, code: [A-Z_]{1,64}, message: text[1..500], length?: uint } (limit ${MAX_APPEND_RESPONSE_BYTES} bytes). ` +
      'parts: hex strings and { repeat: hex, count } concatenated.',
    valid: [
      valid(appendRequestCodec, 'request', request),
      validParts(appendRequestCodec, `request with a ${maxBlock}-byte block`, requestWithBlock(maxBlock)),
      valid(appendResponseCodec, 'appended', { v: 1, ok: true, seq: 3, duplicate: false }),
      valid(appendResponseCodec, 'already there', { v: 1, ok: true, seq: 3, duplicate: true }),
      valid(appendResponseCodec, 'refused, with the current length', refused),
      valid(appendResponseCodec, 'refused', { v: 1, ok: false, code: 'BAD_SIGNATURE', message: 'author signature does not verify' })
    ],
    rejects: [
      reject(req, 'empty block', cbor({ ...request, block: new Uint8Array(0) }), 'INVALID_FIELD', 'block'),
      reject(req, 'block one byte over MAX_ENTRY_BYTES', requestWithBlock(maxBlock + 1), 'TOO_LARGE', 'block'),
      reject(req, 'request over the size limit', padTo(cbor(request), MAX_APPEND_REQUEST_BYTES + 1), 'TOO_LARGE'),
      reject(req, 'block as text', cbor({ ...request, block: 'entry' }), 'INVALID_FIELD', 'block'),
      reject(req, 'chain of 31 bytes', cbor({ ...request, chain: A3.key.subarray(1) }), 'INVALID_FIELD', 'chain'),
      reject(req, 'seq negative', cbor({ ...request, seq: -1 }), 'INVALID_FIELD', 'seq'),
      reject(req, 'seq not an integer', cbor({ ...request, seq: 2.5 }), 'INVALID_FIELD', 'seq'),
      reject(req, 'seq missing', cbor({ v: 1, chain: A3.key, block }), 'INVALID_FIELD', 'seq'),
      reject(req, 'unknown field', cbor({ ...request, reg: 4 }), 'INVALID_FIELD', 'reg'),
      reject(req, 'version 2', cbor({ ...request, v: 2 }), 'UNSUPPORTED_VERSION', 'v'),
      reject(req, 'not canonical: seq in two bytes', rawMap([['v', cbor(1)], ['seq', new Uint8Array([0x18, 0x03])], ['block', cbor(block)], ['chain', cbor(A3.key)]]), 'MALFORMED'),
      reject(res, 'ok missing', cbor({ v: 1, seq: 3, duplicate: false }), 'INVALID_FIELD', 'ok'),
      reject(res, 'ok not a boolean', cbor({ v: 1, ok: 1, seq: 3, duplicate: false }), 'INVALID_FIELD', 'ok'),
      reject(res, 'ok with an error code', cbor({ v: 1, ok: true, seq: 3, duplicate: false, code: 'X' }), 'INVALID_FIELD', 'code'),
      reject(res, 'ok without duplicate', cbor({ v: 1, ok: true, seq: 3 }), 'INVALID_FIELD', 'duplicate'),
      reject(res, 'duplicate as 0', cbor({ v: 1, ok: true, seq: 3, duplicate: 0 }), 'INVALID_FIELD', 'duplicate'),
      reject(res, 'refused without message', cbor({ v: 1, ok: false, code: 'STALE_POSITION' }), 'INVALID_FIELD', 'message'),
      reject(res, 'code in lower case', cbor({ ...refused, code: 'stale_position' }), 'INVALID_FIELD', 'code'),
      reject(res, 'code of 65 characters', cbor({ ...refused, code: 'A'.repeat(65) }), 'INVALID_FIELD', 'code'),
      reject(res, 'empty code', cbor({ ...refused, code: '' }), 'INVALID_FIELD', 'code'),
      reject(res, 'message of 501 characters', cbor({ ...refused, message: 'm'.repeat(501) }), 'INVALID_FIELD', 'message'),
      reject(res, 'message with a control character', cbor({ ...refused, message: 'bad\u0007bell' }), 'INVALID_FIELD', 'message'),
      reject(res, 'length negative', cbor({ ...refused, length: -1 }), 'INVALID_FIELD', 'length'),
      reject(res, 'version 2', cbor({ ...refused, v: 2 }), 'UNSUPPORTED_VERSION', 'v'),
      reject(res, 'over the size limit', padTo(cbor(refused), MAX_APPEND_RESPONSE_BYTES + 1), 'TOO_LARGE')
    ]
  })
}

// ------------------------------------------------------------------ heads-sync.json

{
  const req = headsSyncRequestCodec as Codec<unknown>
  const res = headsSyncResponseCodec as Codec<unknown>
  const headHex = hex(signedHeadCodec.encode(A3))
  const responseWith = (n: number): Part[] => [
    hex(concatBytes(header(5, 4), cbor('v'), cbor(1), cbor('more'), cbor(false), cbor('next'), cbor(n), cbor('heads'), header(4, n))),
    { repeat: headHex, count: n }
  ]
  const big = Math.ceil(MAX_HEADS_SYNC_RESPONSE_BYTES / (headHex.length / 2)) + 1
  write('heads-sync.json', {
    description: 'Heads sync v1 (/healthchain/heads-sync/1.0.0). HeadsSyncRequest { v: 1, since: uint } (limit ' +
      `${MAX_HEADS_SYNC_REQUEST_BYTES} bytes); HeadsSyncResponse { v: 1, heads: SignedHead[0..1024], next: uint, more: bool } ` +
      `(limit ${MAX_HEADS_SYNC_RESPONSE_BYTES} bytes). parts: hex strings and { repeat: hex, count } concatenated.`,
    valid: [
      valid(headsSyncRequestCodec, 'from the start', { v: 1, since: 0 }),
      valid(headsSyncRequestCodec, 'from a cursor', { v: 1, since: 4_294_967_296 }),
      valid(headsSyncResponseCodec, 'two heads, done', { v: 1, heads: [A3, B2], next: 2, more: false }),
      valid(headsSyncResponseCodec, 'nothing new', { v: 1, heads: [], next: 0, more: false }),
      valid(headsSyncResponseCodec, 'one head, more to come', { v: 1, heads: [A1], next: 7, more: true }),
      validParts(headsSyncResponseCodec, '1024 heads (a3 repeated)', responseWith(1024))
    ],
    rejects: [
      reject(req, 'since negative', cbor({ v: 1, since: -1 }), 'INVALID_FIELD', 'since'),
      reject(req, 'since missing', cbor({ v: 1 }), 'INVALID_FIELD', 'since'),
      reject(req, 'since above 2^53 - 1', rawMap([['v', cbor(1)], ['since', new Uint8Array([0x1b, 0, 0x20, 0, 0, 0, 0, 0, 0])]]), 'MALFORMED'),
      reject(req, 'unknown field', cbor({ v: 1, since: 0, limit: 10 }), 'INVALID_FIELD', 'limit'),
      reject(req, 'version 2', cbor({ v: 2, since: 0 }), 'UNSUPPORTED_VERSION', 'v'),
      reject(req, 'over the size limit', padTo(cbor({ v: 1, since: 0 }), MAX_HEADS_SYNC_REQUEST_BYTES + 1), 'TOO_LARGE'),
      reject(res, '1025 heads', responseWith(1025), 'INVALID_FIELD', 'heads'),
      reject(res, 'over the size limit', responseWith(big), 'TOO_LARGE'),
      reject(res, 'more missing', cbor({ v: 1, heads: [], next: 0 }), 'INVALID_FIELD', 'more'),
      reject(res, 'next not an integer', cbor({ v: 1, heads: [], next: 0.5, more: false }), 'INVALID_FIELD', 'next'),
      reject(res, 'second head: sig missing', cbor({ v: 1, heads: [A3, { ...B2, sig: undefined }], next: 2, more: false }), 'INVALID_FIELD', 'heads.1.sig'),
      reject(res, 'version 2', cbor({ v: 2, heads: [], next: 0, more: false }), 'UNSUPPORTED_VERSION', 'v')
    ]
  })
}

// ------------------------------------------------------------------ my-chain.json

{
  const req = myChainRequestCodec as Codec<unknown>
  const res = myChainResponseCodec as Codec<unknown>
  const answer = { v: 1, ok: true, chain: A3.key, custodian: 'hospital-a' as InstitutionId } as const
  const refused = { v: 1, ok: false, code: 'NOT_ADMITTED', message: 'only a user\'s own light peer may ask for its chain' } as const
  // The longest id and the longest refusal in bytes (three-byte UTF-8 characters): the worst cases of the limit.
  const longestId = `r${'e'.repeat(62)}u` as InstitutionId
  const longestMessage = '\u20ac'.repeat(MAX_MY_CHAIN_MESSAGE_CHARS)
  write('my-chain.json', {
    description: 'My chain v1 (/healthchain/my-chain/1.0.0): a user\'s light peer asks a node for its own chain key; the user ' +
      `is the connection's authenticated peer, never a field. MyChainRequest { v: 1 } (limit ${MAX_MY_CHAIN_REQUEST_BYTES} bytes); ` +
      'MyChainResponse { v: 1, ok: true, chain: bytes32, custodian: institution id } | { v: 1, ok: false, code: [A-Z_]{1,64}, ' +
      `message: text[1..${MAX_MY_CHAIN_MESSAGE_CHARS}] } (limit ${MAX_MY_CHAIN_RESPONSE_BYTES} bytes). ` +
      'parts: hex strings and { repeat: hex, count } concatenated.',
    valid: [
      valid(myChainRequestCodec, 'request', { v: 1 }),
      valid(myChainResponseCodec, 'answer', answer),
      valid(myChainResponseCodec, 'answer with a 64-character custodian id', { ...answer, custodian: longestId }),
      valid(myChainResponseCodec, 'refused', refused),
      valid(myChainResponseCodec, `refused, a message of ${MAX_MY_CHAIN_MESSAGE_CHARS} three-byte characters`, { ...refused, code: 'UNKNOWN_CHAIN', message: longestMessage })
    ],
    rejects: [
      reject(req, 'asking about a user (unknown field)', cbor({ v: 1, user: A3.signer }), 'INVALID_FIELD', 'user'),
      reject(req, 'asking about a chain (unknown field)', cbor({ v: 1, chain: A3.key }), 'INVALID_FIELD', 'chain'),
      reject(req, 'version missing', cbor({}), 'INVALID_FIELD', 'v'),
      reject(req, 'version as text', cbor({ v: '1' }), 'INVALID_FIELD', 'v'),
      reject(req, 'version 2', cbor({ v: 2 }), 'UNSUPPORTED_VERSION', 'v'),
      reject(req, 'version 2 with a new field', cbor({ v: 2, user: A3.signer }), 'UNSUPPORTED_VERSION', 'v'),
      reject(req, 'not canonical: v in two bytes', rawMap([['v', new Uint8Array([0x18, 0x01])]]), 'MALFORMED'),
      reject(req, 'an array, not a map', cbor([1]), 'MALFORMED'),
      reject(req, 'trailing byte', concatBytes(cbor({ v: 1 }), new Uint8Array([0])), 'MALFORMED'),
      reject(req, 'over the size limit', padTo(cbor({ v: 1 }), MAX_MY_CHAIN_REQUEST_BYTES + 1), 'TOO_LARGE'),
      reject(res, 'ok missing', cbor({ v: 1, chain: A3.key, custodian: 'hospital-a' }), 'INVALID_FIELD', 'ok'),
      reject(res, 'ok not a boolean', cbor({ ...answer, ok: 1 }), 'INVALID_FIELD', 'ok'),
      reject(res, 'ok with an error code', cbor({ ...answer, code: 'NOT_ADMITTED' }), 'INVALID_FIELD', 'code'),
      reject(res, 'chain missing', cbor({ v: 1, ok: true, custodian: 'hospital-a' }), 'INVALID_FIELD', 'chain'),
      reject(res, 'chain of 31 bytes', cbor({ ...answer, chain: A3.key.subarray(1) }), 'INVALID_FIELD', 'chain'),
      reject(res, 'chain as hex text', cbor({ ...answer, chain: hex(A3.key) }), 'INVALID_FIELD', 'chain'),
      reject(res, 'custodian missing', cbor({ v: 1, ok: true, chain: A3.key }), 'INVALID_FIELD', 'custodian'),
      reject(res, 'custodian "user" (reserved)', cbor({ ...answer, custodian: 'user' }), 'INVALID_FIELD', 'custodian'),
      reject(res, 'custodian with capitals', cbor({ ...answer, custodian: 'Hospital-A' }), 'INVALID_FIELD', 'custodian'),
      reject(res, 'custodian of 65 characters', cbor({ ...answer, custodian: `${longestId}x` }), 'INVALID_FIELD', 'custodian'),
      reject(res, 'unknown field', cbor({ ...answer, user: A3.signer }), 'INVALID_FIELD', 'user'),
      reject(res, 'refused with a chain', cbor({ ...refused, chain: A3.key }), 'INVALID_FIELD', 'chain'),
      reject(res, 'refused without message', cbor({ v: 1, ok: false, code: 'NOT_ADMITTED' }), 'INVALID_FIELD', 'message'),
      reject(res, 'code in lower case', cbor({ ...refused, code: 'not_admitted' }), 'INVALID_FIELD', 'code'),
      reject(res, 'empty code', cbor({ ...refused, code: '' }), 'INVALID_FIELD', 'code'),
      reject(res, `message of ${MAX_MY_CHAIN_MESSAGE_CHARS + 1} characters`, cbor({ ...refused, message: 'm'.repeat(MAX_MY_CHAIN_MESSAGE_CHARS + 1) }), 'INVALID_FIELD', 'message'),
      reject(res, 'message with a control character', cbor({ ...refused, message: 'bad\u0007bell' }), 'INVALID_FIELD', 'message'),
      reject(res, 'version 2', cbor({ ...answer, v: 2 }), 'UNSUPPORTED_VERSION', 'v'),
      reject(res, 'over the size limit', padTo(cbor(refused), MAX_MY_CHAIN_RESPONSE_BYTES + 1), 'TOO_LARGE')
    ]
  })
}

// ------------------------------------------------------------------ continuation.json

{
  const req = continuationRequestCodec as Codec<unknown>
  const res = continuationResponseCodec as Codec<unknown>
  // The plain is opaque here (its head is checked by core's checkMigrate, on the phone): fixed bytes of the right sizes.
  const b32 = (n: number): Uint8Array => new Uint8Array(32).fill(n)
  const plain = {
    from: A3.key, length: 3, fork: 0, prologue: A3.root, signer: A3.signer, headSig: A3.sig, to: 'hospital-b' as InstitutionId, lineage: []
  }
  const link = { key: b32(1), length: 2, prologue: b32(2) }
  const offer = { v: 1, ok: true, op: 'offer', key: b32(7), length: 3, plain } as const
  const moved = { v: 1, ok: true, op: 'continue', key: b32(7), length: 3 } as const
  const refused = { v: 1, ok: false, code: 'NOT_ADMITTED', message: 'only a user\'s own light peer may move its chain' } as const
  const block = new Uint8Array([0xa1, 0x61, 0x76, 0x01])
  write('continuation.json', {
    description: 'Continuation v1 (/healthchain/continuation/1.0.0): a user\'s light peer asks the examiner node it moves to for the ' +
      'offer, then sends the migrate it signed; the user is the connection\'s authenticated peer, never a field. ' +
      `ContinuationRequest { v: 1, op: 'offer' } | { v: 1, op: 'continue', block: bytes[1..${MAX_ENTRY_BYTES}] } ` +
      `(limit ${MAX_CONTINUATION_REQUEST_BYTES} bytes); ContinuationResponse { v: 1, ok: true, op: 'offer', key: bytes32, length: uint >= 1, ` +
      "plain: migrate plain (core's custody.ts) } | { v: 1, ok: true, op: 'continue', key: bytes32, length: uint >= 1 } | " +
      `{ v: 1, ok: false, code: [A-Z_]{1,64}, message: text[1..${MAX_CONTINUATION_MESSAGE_CHARS}] } (limit ${MAX_CONTINUATION_RESPONSE_BYTES} bytes). ` +
      'parts: hex strings and { repeat: hex, count } concatenated.',
    valid: [
      valid(continuationRequestCodec, 'offer request', { v: 1, op: 'offer' }),
      valid(continuationRequestCodec, 'continue request', { v: 1, op: 'continue', block }),
      valid(continuationResponseCodec, 'offer, first migration', offer),
      valid(continuationResponseCodec, 'offer, 32 lineage links', { ...offer, plain: { ...plain, lineage: Array.from({ length: 32 }, () => link) } }),
      valid(continuationResponseCodec, 'moved', moved),
      valid(continuationResponseCodec, 'refused', refused),
      valid(continuationResponseCodec, `refused, a message of ${MAX_CONTINUATION_MESSAGE_CHARS} three-byte characters`,
        { ...refused, code: 'ALREADY_ENROLLED', message: '\u20ac'.repeat(MAX_CONTINUATION_MESSAGE_CHARS) })
    ],
    rejects: [
      reject(req, 'op missing', cbor({ v: 1 }), 'INVALID_FIELD', 'op'),
      reject(req, 'unknown op', cbor({ v: 1, op: 'take' }), 'INVALID_FIELD', 'op'),
      reject(req, 'offer naming a user (unknown field)', cbor({ v: 1, op: 'offer', user: A3.signer }), 'INVALID_FIELD', 'user'),
      reject(req, 'continue without block', cbor({ v: 1, op: 'continue' }), 'INVALID_FIELD', 'block'),
      reject(req, 'continue with an empty block', cbor({ v: 1, op: 'continue', block: new Uint8Array(0) }), 'INVALID_FIELD', 'block'),
      reject(req, 'continue with a block as text', cbor({ v: 1, op: 'continue', block: 'a1' }), 'INVALID_FIELD', 'block'),
      reject(req, 'version 2', cbor({ v: 2, op: 'offer' }), 'UNSUPPORTED_VERSION', 'v'),
      reject(req, 'not canonical: v in two bytes', rawMap([['op', cbor('offer')], ['v', new Uint8Array([0x18, 0x01])]]), 'MALFORMED'),
      reject(req, 'over the size limit', padTo(cbor({ v: 1, op: 'offer' }), MAX_CONTINUATION_REQUEST_BYTES + 1), 'TOO_LARGE'),
      reject(res, 'offer without plain', cbor({ ...offer, plain: undefined }), 'INVALID_FIELD'),
      reject(res, 'offer of length 0', cbor({ ...offer, length: 0 }), 'INVALID_FIELD'),
      reject(res, 'offer key of 31 bytes', cbor({ ...offer, key: b32(7).subarray(1) }), 'INVALID_FIELD'),
      reject(res, 'offer plain with an unknown field', cbor({ ...offer, plain: { ...plain, user: A3.signer } }), 'INVALID_FIELD'),
      reject(res, 'offer plain to "user" (reserved)', cbor({ ...offer, plain: { ...plain, to: 'user' } }), 'INVALID_FIELD'),
      reject(res, 'offer plain with 33 lineage links', cbor({ ...offer, plain: { ...plain, lineage: Array.from({ length: 33 }, () => link) } }), 'INVALID_FIELD'),
      reject(res, 'offer plain, headSig of 63 bytes', cbor({ ...offer, plain: { ...plain, headSig: A3.sig.subarray(1) } }), 'INVALID_FIELD'),
      reject(res, 'moved with a plain (unknown field)', cbor({ ...moved, plain }), 'INVALID_FIELD'),
      reject(res, 'ok missing', cbor({ v: 1, op: 'continue', key: b32(7), length: 3 }), 'INVALID_FIELD'),
      reject(res, 'refused without message', cbor({ v: 1, ok: false, code: 'NOT_ADMITTED' }), 'INVALID_FIELD'),
      reject(res, 'code in lower case', cbor({ ...refused, code: 'not_admitted' }), 'INVALID_FIELD'),
      reject(res, 'version 2', cbor({ ...moved, v: 2 }), 'UNSUPPORTED_VERSION', 'v'),
      reject(res, 'over the size limit', padTo(cbor(refused), MAX_CONTINUATION_RESPONSE_BYTES + 1), 'TOO_LARGE')
    ]
  })
}
