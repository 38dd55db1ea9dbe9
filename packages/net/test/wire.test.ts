import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Corestore from 'corestore'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { encodeCanonical, nobleProvider, utf8ToBytes, type CryptoProvider, type InstitutionId } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { NetError, type NetErrorCode } from '../src/errors.js'
import { storedHead, storedTreeHash } from '../src/wire/hypercore-head.js'
import { readConsistencyNodes } from '@healthchain/ledger'
import {
  anyForkProofCodec, assertAnyForkProof, assertConsistencyForkProof, consistencyForkProofCodec, decodeAnyForkProof,
  decodeConsistencyForkProof, encodeAnyForkProof, encodeConsistencyForkProof, forksSyncRequestCodec, forksSyncResponseCodec,
  encodeForksSyncResponse, makeConsistencyForkProof, verifyAnyForkProof, verifyConsistencyForkProof, MAX_ANY_FORK_PROOF_BYTES,
  MAX_CONSISTENCY_FORK_PROOF_BYTES, MAX_CONSISTENCY_NODES, MAX_FORKS_SYNC_RESPONSE_BYTES, MAX_PROOFS_PER_SYNC,
  type ConsistencyForkProof,
  appendRequestCodec, appendResponseCodec, assertCosignature, assertForkProof, assertHead, cosign, cosignMessage,
  cosignatureCodec, decodeForkProof, decodeSignedHead, encodeAppendResponse, encodeForkProof, encodeHeadsAnnouncement,
  encodeHeadsSyncResponse, encodeSignedHead, forkProofCodec, headOf, headSignable, headsAnnouncementCodec,
  headsSyncRequestCodec, headsSyncResponseCodec, makeForkProof, MAX_COSIGNATURE_BYTES, MAX_FORK_PROOF_BYTES,
  MAX_HEADS_ANNOUNCEMENT_BYTES, MAX_HEADS_SYNC_RESPONSE_BYTES, MAX_SIGNED_HEAD_BYTES, signedHeadCodec, verifyCosignature,
  verifyForkProof, verifyHead, encodeCosignature, MAX_MY_CHAIN_MESSAGE_CHARS, MAX_MY_CHAIN_RESPONSE_BYTES, decodeMyChainResponse,
  encodeMyChainRequest, encodeMyChainResponse, myChainRequestCodec, myChainResponseCodec, type Codec, type Cosignature,
  type MyChainResponse, type SignedHead, moveForkProofCodec, assertMoveForkProof, type MoveForkProof
} from '../src/wire/index.js'

// ------------------------------------------------------------------ vector files

type Part = string | { repeat: string, count: number }
interface Input { hex?: string, parts?: Part[] }
interface ValidCase extends Input { name: string, decoder: string, value?: unknown, signable?: string, message?: string }
interface RejectCase extends Input { name: string, decoder: string, stage: 'decode' | 'verify', code: NetErrorCode, field?: string }
interface VectorFile { valid: ValidCase[], rejects: RejectCase[] }
interface HeadsFile extends VectorFile {
  inputs: {
    primaryKey: string
    cores: Array<{ label: string, store: 'first' | 'second', name: string, blocks: string[] }>
    continuation: { store: 'first' | 'second', source: string, keyPair: string, prologueLength: number, blocks: string[] }
  }
}
interface CosignaturesFile extends VectorFile { witness: { id: string, seed: string, publicKey: string } }
interface ConsistencyFile extends VectorFile { inputs: { primaryKey: string, histories: Array<{ label: string, name: string, blocks: string[] }> } }

function load<T extends VectorFile> (name: string): T {
  return JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8')) as T
}

const files = {
  heads: load<HeadsFile>('heads.json'),
  announcements: load<VectorFile>('heads-announcement.json'),
  forkProofs: load<VectorFile>('fork-proofs.json'),
  consistencyForkProofs: load<ConsistencyFile>('consistency-fork-proofs.json'),
  forksSync: load<VectorFile>('forks-sync.json'),
  cosignatures: load<CosignaturesFile>('cosignatures.json'),
  append: load<VectorFile>('append.json'),
  headsSync: load<VectorFile>('heads-sync.json'),
  myChain: load<VectorFile>('my-chain.json'),
  moveForkProofs: load<VectorFile>('move-fork-proofs.json')
}

const witnessPublicKey = hexToBytes(files.cosignatures.witness.publicKey)

const CODECS: Record<string, Codec<unknown>> = Object.fromEntries([
  signedHeadCodec, headsAnnouncementCodec, forkProofCodec, consistencyForkProofCodec, anyForkProofCodec, cosignatureCodec,
  appendRequestCodec, appendResponseCodec, headsSyncRequestCodec, headsSyncResponseCodec, forksSyncRequestCodec,
  forksSyncResponseCodec, myChainRequestCodec, myChainResponseCodec, moveForkProofCodec
].map((c) => [c.name, c as Codec<unknown>]))

/** The verification a decoded message of each kind gets ("verify" stage of the reject vectors). */
const VERIFIERS: Record<string, (value: never) => void> = {
  SignedHead: (head: SignedHead) => { assertHead(head) },
  ForkProof: (proof: Parameters<typeof assertForkProof>[0]) => { assertForkProof(proof) },
  ConsistencyForkProof: (proof: ConsistencyForkProof) => { assertConsistencyForkProof(proof) },
  AnyForkProof: (proof: Parameters<typeof assertAnyForkProof>[0]) => { assertAnyForkProof(proof) },
  MoveForkProof: (proof: MoveForkProof) => { assertMoveForkProof(proof) },
  Cosignature: (c: Cosignature) => { assertCosignature(c, witnessPublicKey) }
}

function inputOf (v: Input): Uint8Array {
  if (v.hex !== undefined) return hexToBytes(v.hex)
  return hexToBytes((v.parts ?? []).map((p) => typeof p === 'string' ? p : p.repeat.repeat(p.count)).join(''))
}

function codecOf (name: string): Codec<unknown> {
  const codec = CODECS[name]
  if (codec === undefined) throw new Error(`no codec ${name}`)
  return codec
}

function toTagged (value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bytes: bytesToHex(value) }
  if (Array.isArray(value)) return value.map(toTagged)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, toTagged(v)]))
  }
  return value
}

function caught (fn: () => unknown): NetError {
  try {
    fn()
  } catch (err) {
    if (err instanceof NetError) return err
    throw err
  }
  throw new Error('expected a NetError, nothing was thrown')
}

const hex = bytesToHex
const PROVIDERS: CryptoProvider[] = [sodiumProvider, nobleProvider]

function flip (bytes: Uint8Array, index: number, bit = 0x01): Uint8Array {
  const out = bytes.slice()
  out[index]! ^= bit
  return out
}

function headNamed (name: string): SignedHead {
  const found = files.heads.valid.find((v) => v.name === name)
  if (found === undefined) throw new Error(`no head ${name}`)
  return decodeSignedHead(inputOf(found))
}

const A1 = headNamed('a1')
const A2 = headNamed('a2')
const A3 = headNamed('a3')
const B2 = headNamed('b2')
const F3 = headNamed('aFork3')

describe('known-answer vectors', () => {
  for (const [file, data] of Object.entries(files)) {
    describe(file, () => {
      it.each(data.valid.map((v) => [v.name, v] as const))('decodes and re-encodes %s', (_name, v) => {
        const bytes = inputOf(v)
        const codec = codecOf(v.decoder)
        const decoded = codec.decode(bytes)
        if (v.value !== undefined) expect(toTagged(decoded)).toEqual(v.value)
        expect(hex(codec.encode(decoded))).toBe(hex(bytes))
      })

      it.each(data.rejects.map((v) => [v.name, v] as const))('refuses %s', (_name, v) => {
        const codec = codecOf(v.decoder)
        const bytes = inputOf(v)
        let err: NetError
        if (v.stage === 'decode') {
          err = caught(() => codec.decode(bytes))
        } else {
          const decoded = codec.decode(bytes)
          const verify = VERIFIERS[v.decoder]
          if (verify === undefined) throw new Error(`no verifier for ${v.decoder}`)
          err = caught(() => verify(decoded as never))
        }
        expect(err.code).toBe(v.code)
        if (v.field !== undefined) expect(err.field).toBe(v.field)
      })
    })
  }

  it('covers every code a decoder or verifier can give', () => {
    const codes = new Set(Object.values(files).flatMap((f) => f.rejects.map((r) => r.code)))
    expect([...codes].sort()).toEqual(['BAD_PROOF', 'BAD_SIGNATURE', 'INVALID_FIELD', 'MALFORMED', 'NOT_A_FORK', 'TOO_LARGE', 'UNSUPPORTED_VERSION'])
  })

  it('move fork proofs: every valid one proves its fork under both providers', () => {
    for (const v of files.moveForkProofs.valid) {
      const proof = codecOf(v.decoder).decode(inputOf(v)) as MoveForkProof
      for (const crypto of PROVIDERS) expect(() => { assertAnyForkProof(proof, crypto) }).not.toThrow()
    }
  })

  it('heads: the signable bytes and signatures check under both providers', () => {
    for (const v of files.heads.valid) {
      const head = decodeSignedHead(inputOf(v))
      expect(hex(headSignable(head))).toBe(v.signable)
      for (const crypto of PROVIDERS) expect(verifyHead(head, crypto)).toBe(true)
    }
  })

  it('cosignatures: the signed message is as documented and re-signing gives the same bytes under both providers', () => {
    const seed = hexToBytes(files.cosignatures.witness.seed)
    for (const v of files.cosignatures.valid) {
      const c = cosignatureCodec.decode(inputOf(v))
      expect(hex(cosignMessage(c.head))).toBe(v.message)
      for (const crypto of PROVIDERS) {
        expect(verifyCosignature(c, witnessPublicKey, crypto)).toBe(true)
        const again = cosign(c.head, files.cosignatures.witness.id, crypto.signKeyPairFromSeed(seed).secretKey, crypto)
        expect(hex(encodeCosignature(again))).toBe(hex(inputOf(v)))
      }
    }
  })

  it('fork proofs: verify, and makeForkProof gives the same bytes in either order', () => {
    const [v] = files.forkProofs.valid
    const proof = decodeForkProof(inputOf(v!))
    for (const crypto of PROVIDERS) expect(verifyForkProof(proof, crypto)).toBe(true)
    expect(hex(encodeForkProof(makeForkProof(proof.b, proof.a)))).toBe(v!.hex)
    expect(hex(encodeForkProof(makeForkProof(proof.a, proof.b)))).toBe(v!.hex)
  })

  it('consistency fork proofs: verify under both providers; the dispatcher reads both versions to the same bytes', () => {
    for (const v of files.consistencyForkProofs.valid) {
      const proof = anyForkProofCodec.decode(inputOf(v))
      for (const crypto of PROVIDERS) expect(verifyAnyForkProof(proof, crypto)).toBe(true)
      expect(hex(encodeAnyForkProof(proof))).toBe(hex(inputOf(v)))
      expect(proof.v).toBe(v.decoder === 'ForkProof' || v.name.startsWith('any: a version 1') ? 1 : 2)
    }
    // The version 1 vectors, unchanged, read the same through the dispatcher.
    const [v1] = files.forkProofs.valid
    expect(hex(encodeAnyForkProof(decodeAnyForkProof(inputOf(v1!))))).toBe(v1!.hex)
  })
})

// ------------------------------------------------------------------ heads from real cores

describe('headOf', () => {
  const dirs: string[] = []
  const stores: Corestore[] = []
  const tempStore = (opts: ConstructorParameters<typeof Corestore>[1] = {}): Corestore => {
    const dir = mkdtempSync(join(tmpdir(), 'hc-net-wire-'))
    dirs.push(dir)
    const store = new Corestore(dir, opts)
    stores.push(store)
    return store
  }
  const rebuilt: Record<string, SignedHead> = {}
  let writerStore: Corestore

  beforeAll(async () => {
    const { primaryKey, cores } = files.heads.inputs
    const byRole = {
      first: tempStore({ primaryKey: hexToBytes(primaryKey), unsafe: true }),
      second: tempStore({ primaryKey: hexToBytes(primaryKey), unsafe: true })
    }
    writerStore = byRole.first
    for (const input of cores) {
      const core = byRole[input.store].get({ name: input.name })
      await core.ready()
      for (const [i, block] of input.blocks.entries()) {
        await core.append(hexToBytes(block))
        rebuilt[`${input.label}${i + 1}`] = await headOf(core)
      }
      await core.close()
    }
    // The continuation core's head (make-vectors.ts, buildContinuationHead).
    const c = files.heads.inputs.continuation
    const store = byRole[c.store]
    const blocks = c.blocks.map((b) => hexToBytes(b))
    const source = store.get({ name: c.source })
    await source.ready()
    await source.append(blocks.slice(0, c.prologueLength))
    const keyPair = await store.createKeyPair(c.keyPair)
    const prologue = { hash: await storedTreeHash(source, c.prologueLength), length: c.prologueLength }
    const next = store.get({ manifest: { version: 1, signers: [{ publicKey: keyPair.publicKey }], prologue }, keyPair })
    await next.ready()
    await next.append(blocks.slice(0, c.prologueLength))
    for (const block of blocks.slice(c.prologueLength)) await next.append(block)
    rebuilt.continuation = await headOf(next)
    await next.close()
    await source.close()
  })

  afterAll(async () => {
    for (const store of stores) await store.close()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  it('rebuilds every head of heads.json from its inputs, byte for byte', () => {
    expect(Object.keys(rebuilt).sort()).toEqual(files.heads.valid.map((v) => v.name).sort())
    for (const v of files.heads.valid) expect(hex(encodeSignedHead(rebuilt[v.name]!))).toBe(v.hex)
  })

  it('reads the same head on a replica as on the writer', async () => {
    const writer = writerStore.get({ name: files.heads.inputs.cores[0]!.name })
    await writer.ready()
    const replicaStore = tempStore()
    const s1 = writerStore.replicate(true)
    const s2 = replicaStore.replicate(false)
    s1.pipe(s2).pipe(s1)
    const replica = replicaStore.get({ key: writer.key! })
    await replica.ready()
    await replica.update({ wait: true })
    expect(replica.writable).toBe(false)
    expect(hex(encodeSignedHead(await headOf(replica)))).toBe(hex(encodeSignedHead(await headOf(writer))))
    expect(hex(encodeSignedHead(await headOf(replica)))).toBe(hex(encodeSignedHead(A3)))
    s1.destroy()
    s2.destroy()
    await replica.close()
    await writer.close()
  })

  it('gives the writer the head it would read from storage, and that head verifies', async () => {
    const writer = writerStore.get({ name: 'chain/memory-vs-storage' })
    await writer.ready()
    for (let i = 0; i < 5; i++) {
      await writer.append(utf8ToBytes(`block ${i}`))
      const fromMemory = await headOf(writer)
      const stored = storedHead(writer)!
      const fromStorage: SignedHead = { v: 1, ...stored, root: await storedTreeHash(writer, stored.length) }
      expect(writer.writable).toBe(true)
      expect(hex(encodeSignedHead(fromMemory))).toBe(hex(encodeSignedHead(fromStorage)))
      expect(verifyHead(fromMemory)).toBe(true)
    }
    await writer.close()
  })

  it('refuses an empty core with NO_HEAD', async () => {
    const core = writerStore.get({ name: 'chain/empty' })
    await core.ready()
    await expect(headOf(core)).rejects.toMatchObject({ code: 'NO_HEAD' })
    await core.close()
  })
})

describe('consistency fork proofs from real cores', () => {
  const stores: Corestore[] = []
  const dirs: string[] = []
  const rebuilt = new Map<string, ConsistencyForkProof>()

  beforeAll(async () => {
    const { primaryKey, histories } = files.consistencyForkProofs.inputs
    const built = new Map<string, { heads: SignedHead[], nodes: (a: number, b: number) => Promise<Parameters<typeof makeConsistencyForkProof>[2]> }>()
    for (const history of histories) {
      const dir = mkdtempSync(join(tmpdir(), 'hc-net-wire-'))
      dirs.push(dir)
      const store = new Corestore(dir, { primaryKey: hexToBytes(primaryKey), unsafe: true })
      stores.push(store)
      const core = store.get({ name: history.name })
      await core.ready()
      const heads: SignedHead[] = []
      for (const block of history.blocks) {
        await core.append(hexToBytes(block))
        heads.push(await headOf(core))
      }
      built.set(history.label, { heads, nodes: async (a, b) => (await readConsistencyNodes(core, a, b))! })
    }
    const long = built.get('long')!
    const fork = built.get('fork')!
    const early = built.get('early')!
    rebuilt.set('a3 against the fork history at 4', makeConsistencyForkProof(A3, fork.heads[3]!, await fork.nodes(3, 4)))
    rebuilt.set('a3 against the fork history at 5', makeConsistencyForkProof(A3, fork.heads[4]!, await fork.nodes(3, 5)))
    rebuilt.set('aFork3 against the long history at 8', makeConsistencyForkProof(F3, long.heads[7]!, await long.nodes(3, 8)))
    rebuilt.set('a1 against the early history at 7', makeConsistencyForkProof(A1, early.heads[6]!, await early.nodes(1, 7)))
  })

  afterAll(async () => {
    for (const store of stores) await store.close()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  it('rebuilds every consistency proof of the vectors from its inputs, byte for byte', () => {
    const expected = files.consistencyForkProofs.valid.filter((v) => v.decoder === 'ConsistencyForkProof')
    expect([...rebuilt.keys()].sort()).toEqual(expected.map((v) => v.name).sort())
    for (const v of expected) expect(hex(encodeConsistencyForkProof(rebuilt.get(v.name)!))).toBe(v.hex)
  })

  it('binds every node and the longer root: any flipped bit is BAD_PROOF', () => {
    const proof = rebuilt.get('aFork3 against the long history at 8')!
    for (const [i, node] of proof.nodes.entries()) {
      for (let byte = 0; byte < 32; byte += 5) {
        const nodes = proof.nodes.map((n, j) => j === i ? [n[0], n[1], flip(node[2], byte, 1 << (byte % 8))] as const : n)
        expect(caught(() => consistencyForkProofCodec.parse({ ...proof, nodes })).code, `node ${i} byte ${byte}`).toBe('BAD_PROOF')
      }
      expect(caught(() => consistencyForkProofCodec.parse({ ...proof, nodes: proof.nodes.map((n, j) => j === i ? [n[0], n[1] + 1, n[2]] : n) })).code).toBe('BAD_PROOF')
    }
    for (let byte = 0; byte < 32; byte++) expect(caught(() => consistencyForkProofCodec.parse({ ...proof, b: { ...proof.b, root: flip(proof.b.root, byte) } })).code).toBe('BAD_PROOF')
  })

  it('makeConsistencyForkProof refuses heads that agree (NOT_A_FORK), one length or the wrong order (INVALID_FIELD), forged heads (BAD_SIGNATURE)', () => {
    const proof = rebuilt.get('a3 against the fork history at 5')!
    const nodes = proof.nodes.map(([index, size, hash]) => ({ index, size, hash }))
    expect(caught(() => makeConsistencyForkProof(F3, proof.b, nodes)).code).toBe('NOT_A_FORK')
    expect(caught(() => makeConsistencyForkProof(B2, proof.b, nodes)).code).toBe('NOT_A_FORK')
    expect(caught(() => makeConsistencyForkProof(proof.b, A3, nodes)).field).toBe('b.length')
    expect(caught(() => makeConsistencyForkProof({ ...A3, sig: flip(A3.sig, 0) }, proof.b, nodes)).code).toBe('BAD_SIGNATURE')
    expect(verifyConsistencyForkProof(proof)).toBe(true)
    expect(verifyConsistencyForkProof({ ...proof, a: { ...A3, fork: 1 } })).toBe(false)
    expect(decodeConsistencyForkProof(encodeConsistencyForkProof(proof))).toEqual(proof)
  })
})

// ------------------------------------------------------------------ verification

describe('SignedHead verification', () => {
  it('fails for any flipped bit in key, signer, root or sig', () => {
    for (const field of ['key', 'signer', 'root', 'sig'] as const) {
      for (let i = 0; i < A3[field].length; i++) {
        const bit = 1 << (i % 8)
        const tampered = { ...A3, [field]: flip(A3[field], i, bit) }
        expect(verifyHead(tampered), `${field}[${i}]`).toBe(false)
      }
    }
    expect(verifyHead(A3)).toBe(true)
  })

  it('fails for any other length or fork', () => {
    for (const length of [1, 2, 4, 1000]) expect(verifyHead({ ...A3, length })).toBe(false)
    for (const fork of [1, 2, 2 ** 32]) expect(verifyHead({ ...A3, fork })).toBe(false)
  })

  it('refuses a head whose signer does not own its key (BAD_SIGNATURE)', () => {
    expect(caught(() => { assertHead({ ...A3, signer: B2.signer }) }).code).toBe('BAD_SIGNATURE')
    // A valid head of chain B presented as chain A's
    expect(caught(() => { assertHead({ ...B2, key: A3.key }) }).code).toBe('BAD_SIGNATURE')
  })

  it('does not throw for shapes that are not heads', () => {
    expect(verifyHead({ ...A3, sig: A3.sig.subarray(1) })).toBe(false)
    expect(verifyHead({ ...A3, signer: new Uint8Array(32) })).toBe(false)
    expect(verifyHead({ ...A3, v: 2 } as unknown as SignedHead)).toBe(false)
  })
})

describe('ForkProof', () => {
  it('orders the heads by root', () => {
    const proof = makeForkProof(F3, A3)
    expect(hex(proof.a.root) < hex(proof.b.root)).toBe(true)
  })

  it('refuses two identical heads (NOT_A_FORK)', () => {
    expect(caught(() => makeForkProof(A3, A3)).code).toBe('NOT_A_FORK')
  })

  it('refuses heads of different lengths (NOT_A_FORK)', () => {
    expect(caught(() => makeForkProof(A2, F3)).code).toBe('NOT_A_FORK')
  })

  it('refuses heads of different chains (NOT_A_FORK)', () => {
    expect(caught(() => makeForkProof(A2, B2)).code).toBe('NOT_A_FORK')
  })

  it('refuses a proof whose heads are not in root order (INVALID_FIELD)', () => {
    const proof = makeForkProof(A3, F3)
    const unordered = { v: 1 as const, a: proof.b, b: proof.a }
    expect(caught(() => { assertForkProof(unordered) }).code).toBe('INVALID_FIELD')
    expect(caught(() => encodeForkProof(unordered)).code).toBe('INVALID_FIELD')
  })

  it('refuses a fork built from a forged head (BAD_SIGNATURE)', () => {
    const forged = { ...A3, root: flip(A3.root, 0) }
    expect(caught(() => makeForkProof(forged, A3)).code).toBe('BAD_SIGNATURE')
    const proof = makeForkProof(A3, F3)
    expect(verifyForkProof({ ...proof, b: { ...proof.b, sig: flip(proof.b.sig, 0) } })).toBe(false)
  })
})

describe('Cosignature', () => {
  const seed = hexToBytes(files.cosignatures.witness.seed)
  const witness = sodiumProvider.signKeyPairFromSeed(seed)
  const id = files.cosignatures.witness.id

  it('fails for any flipped bit of its signature or of the head it covers', () => {
    const c = cosign(A3, id, witness.secretKey)
    for (let i = 0; i < 64; i++) expect(verifyCosignature({ ...c, sig: flip(c.sig, i, 1 << (i % 8)) }, witness.publicKey)).toBe(false)
    for (const field of ['key', 'root'] as const) {
      for (let i = 0; i < 32; i++) expect(verifyCosignature({ ...c, head: { ...c.head, [field]: flip(A3[field], i) } }, witness.publicKey)).toBe(false)
    }
    expect(verifyCosignature({ ...c, head: { ...A3, fork: 1 } }, witness.publicKey)).toBe(false)
    expect(verifyCosignature(c, witness.publicKey)).toBe(true)
  })

  it('is bound to the head: moved onto another head it fails', () => {
    const c = cosign(A3, id, witness.secretKey)
    expect(caught(() => { assertCosignature({ ...c, head: A2 }, witness.publicKey) }).field).toBe('sig')
  })

  it('refuses to cosign a head that does not verify', () => {
    expect(caught(() => cosign({ ...A3, signer: B2.signer }, id, witness.secretKey)).code).toBe('BAD_SIGNATURE')
  })

  it('covers key, length, root and fork in the documented 102-byte layout', () => {
    const message = cosignMessage(A3)
    expect(message.length).toBe(102)
    const tag = utf8ToBytes('healthchain/v1/cosign\u0000')
    expect(hex(message.subarray(0, 22))).toBe(hex(tag))
    expect(hex(message.subarray(22, 54))).toBe(hex(A3.key))
    expect(hex(message.subarray(54, 62))).toBe('0000000000000003')
    expect(hex(message.subarray(62, 94))).toBe(hex(A3.root))
    expect(hex(message.subarray(94, 102))).toBe('0000000000000000')
  })
})

// ------------------------------------------------------------------ encoders, limits, round trips

describe('encoders', () => {
  it('refuse what the decoders would refuse', () => {
    expect(caught(() => encodeSignedHead({ ...A3, length: 0 })).code).toBe('INVALID_FIELD')
    expect(caught(() => encodeSignedHead({ ...A3, v: 2 } as unknown as SignedHead)).code).toBe('UNSUPPORTED_VERSION')
    expect(caught(() => encodeSignedHead({ ...A3, extra: 1 } as unknown as SignedHead)).field).toBe('extra')
    expect(caught(() => encodeHeadsAnnouncement({ v: 1, heads: [] })).field).toBe('heads')
    expect(caught(() => encodeAppendResponse({ v: 1, ok: false, code: 'INTERNAL', message: 'm'.repeat(501) })).field).toBe('message')
    expect(caught(() => encodeAppendResponse({ v: 1, ok: true, seq: -1, duplicate: false })).field).toBe('seq')
    expect(caught(() => encodeMyChainRequest({ v: 1, user: 'x' } as unknown as { v: 1 })).field).toBe('user')
    expect(caught(() => encodeMyChainResponse({ v: 1, ok: true, chain: A3.key, custodian: 'user' as InstitutionId })).field).toBe('custodian')
    const longMessage = 'm'.repeat(MAX_MY_CHAIN_MESSAGE_CHARS + 1)
    expect(caught(() => encodeMyChainResponse({ v: 1, ok: false, code: 'INTERNAL', message: longMessage })).field).toBe('message')
  })

  it('keep the worst-case sizes documented in each module within their limits', () => {
    const max = Number.MAX_SAFE_INTEGER
    expect(encodeSignedHead({ ...A3, length: max, fork: max }).length).toBe(222)
    // The worst case is a continuation core's head, which carries its manifest prologue (the shape only: it would not verify).
    const big: SignedHead = { ...A3, length: max, fork: max, prologue: { hash: A3.root, length: max } }
    const headBytes = encodeCanonical(big).length
    expect(headBytes).toBe(287)
    expect(headBytes).toBeLessThanOrEqual(MAX_SIGNED_HEAD_BYTES)
    const announcement = encodeHeadsAnnouncement({ v: 1, heads: Array.from({ length: 256 }, () => big) }).length
    expect(announcement).toBe(73_485)
    expect(announcement).toBeLessThanOrEqual(MAX_HEADS_ANNOUNCEMENT_BYTES)
    const proof = forkProofCodec.encode({ v: 1, a: big, b: { ...big, root: new Uint8Array(32).fill(0xff) } }).length
    expect(proof).toBe(582)
    expect(proof).toBeLessThanOrEqual(MAX_FORK_PROOF_BYTES)
    // The largest consistency proof: 103 nodes with 9-byte indexes and sizes (only the shape: the codec would check the hashes).
    const consistency = encodeCanonical({ v: 2, a: big, b: big, nodes: Array.from({ length: MAX_CONSISTENCY_NODES }, () => [max, max, A3.root]) }).length
    expect(consistency).toBe(6_049)
    expect(consistency).toBeLessThanOrEqual(MAX_CONSISTENCY_FORK_PROOF_BYTES)
    expect(MAX_ANY_FORK_PROOF_BYTES).toBe(MAX_CONSISTENCY_FORK_PROOF_BYTES)
    const proofs = Array.from({ length: MAX_PROOFS_PER_SYNC }, () => new Uint8Array(MAX_ANY_FORK_PROOF_BYTES))
    const forksSync = encodeForksSyncResponse({ v: 1, proofs, next: max, more: true }).length
    expect(forksSync).toBe(98_384)
    expect(forksSync).toBeLessThanOrEqual(MAX_FORKS_SYNC_RESPONSE_BYTES)
    const cosignature = cosignatureCodec.encode({ v: 1, head: big, witness: `r${'e'.repeat(62)}u` as Cosignature['witness'], sig: A3.sig }).length
    expect(cosignature).toBe(440)
    expect(cosignature).toBeLessThanOrEqual(MAX_COSIGNATURE_BYTES)
    const sync = encodeHeadsSyncResponse({ v: 1, heads: Array.from({ length: 1024 }, () => big), next: max, more: true }).length
    expect(sync).toBe(293_921)
    expect(sync).toBeLessThanOrEqual(MAX_HEADS_SYNC_RESPONSE_BYTES)
    // my-chain: the request is 4 bytes; the longest answer and refusal (64-character id and code, 200 three-byte characters).
    expect(encodeMyChainRequest({ v: 1 }).length).toBe(4)
    const answer = encodeMyChainResponse({ v: 1, ok: true, chain: A3.key, custodian: `r${'e'.repeat(62)}u` as InstitutionId }).length
    expect(answer).toBe(124)
    // A 64-character code is one this build reads (as UNKNOWN_REFUSAL) but never sends, so the bytes are built by hand.
    const longest = encodeCanonical({ v: 1, ok: false, code: 'A'.repeat(64), message: '\u20ac'.repeat(MAX_MY_CHAIN_MESSAGE_CHARS) })
    expect(decodeMyChainResponse(longest)).toMatchObject({ ok: false, code: 'UNKNOWN_REFUSAL' })
    const refusal = longest.length
    expect(refusal).toBe(690)
    expect(refusal).toBeLessThanOrEqual(MAX_MY_CHAIN_RESPONSE_BYTES)
    // Surrogate pairs are 4 bytes per 2 units: smaller than three-byte characters per unit.
    expect(encodeCanonical({ v: 1, ok: false, code: 'A'.repeat(64), message: '\u{1f600}'.repeat(MAX_MY_CHAIN_MESSAGE_CHARS / 2) }).length).toBeLessThan(refusal)
  })

  it('round-trip generated heads and messages', () => {
    let counter = 0
    const bytes = (n: number): Uint8Array => {
      const out = new Uint8Array(n)
      for (let i = 0; i < n; i += 32) out.set(sha256(utf8ToBytes(`round-trip/${counter++}`)).subarray(0, Math.min(32, n - i)), i)
      return out
    }
    const int = (): number => {
      const b = bytes(7)
      const magnitude = b[0]! % 54
      return Math.floor((new DataView(b.buffer).getUint32(1) / 2 ** 32) * 2 ** magnitude)
    }
    for (let i = 0; i < 300; i++) {
      const head: SignedHead = { v: 1, key: bytes(32), signer: bytes(32), length: int() + 1, fork: int(), root: bytes(32), sig: bytes(64) }
      const encoded = encodeSignedHead(head)
      expect(decodeSignedHead(encoded)).toEqual(head)
      const response = { v: 1 as const, heads: [head], next: int(), more: i % 2 === 0 }
      expect(headsSyncResponseCodec.decode(encodeHeadsSyncResponse(response))).toEqual(response)
      const refused = { v: 1 as const, ok: false as const, code: 'STALE_POSITION' as const, message: `at ${int()}`, length: int() }
      expect(appendResponseCodec.decode(encodeAppendResponse(refused))).toEqual(refused)
      const mine: MyChainResponse = { v: 1, ok: true, chain: bytes(32), custodian: `h${hex(bytes(4))}` as InstitutionId }
      expect(decodeMyChainResponse(encodeMyChainResponse(mine))).toEqual(mine)
    }
  })

  it('every decoder refuses a non-map and a non-canonical encoding (MALFORMED)', () => {
    for (const codec of Object.values(CODECS)) {
      expect(caught(() => codec.decode(new Uint8Array([0x80]))).code).toBe('MALFORMED')
      expect(caught(() => codec.decode(new Uint8Array([0xb8, 0x00]))).code).toBe('MALFORMED')
      expect(caught(() => codec.decode('a1' as unknown as Uint8Array)).code).toBe('MALFORMED')
    }
  })
})

void A1
