/**
 * The custody-transfer and pre-rotation formats: user keys by generation
 * (generation 0 exactly today's), the next-key commitment, the migrate entry
 * and its head check (against a real Hypercore's key, tree hash and stored
 * head signature), the rekey entry and its commitment check, and the
 * permission rows. Bad inputs are refused with their codes.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Hypercore from 'hypercore'
import { sha256 } from '@noble/hashes/sha2.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  buildGenesis, buildMigrate, buildRekey, can, checkMigrate, checkRekey, concatBytes, coreKeyOfManifest, coreKeyOfSigner, decodeEntry, domainTag, encodeEntry,
  MAX_LINEAGE, segmentsOfMigrate,
  NEXT_KEYS_DOMAIN, nextKeyDigest, ROLES, signEntry, treeSignable, userKeysFromPhrase, utf8ToBytes, verifyEntrySignature, verifyTreeHead,
  type CryptoProvider, type EntryOf, type InstitutionId, type MigratePlain, type SigningKeyPair
} from '@healthchain/core'
import { expectCode, PROVIDERS } from './helpers/expect-code.js'
import { fixedBytes } from './helpers/deterministic-crypto.js'
import { PHRASE, T0 } from './helpers/fixtures.js'

const NEW_CUSTODIAN = 'city-clinic' as InstitutionId

/** A real core, signed by `old`, three blocks long: its key, tree hash and Hypercore's own stored head signature. */
let dir: string
let real: { key: Uint8Array, root: Uint8Array, length: number, fork: number, sig: Uint8Array }
let old: SigningKeyPair

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'healthchain-custody-'))
  old = PROVIDERS[0]!.signKeyPairFromSeed(fixedBytes('custody/old-custodian'))
  const core = new Hypercore(join(dir, 'old'), null, { keyPair: { publicKey: Buffer.from(old.publicKey), secretKey: Buffer.from(old.secretKey) } })
  await core.ready()
  for (let i = 0; i < 3; i++) await core.append(Buffer.from(`block ${i}`))
  // Hypercore's stored head signature, multisig-encoded: the raw Ed25519 signature is at [2, 66).
  const stored = core.state!.signature!
  const root = new Uint8Array(await core.treeHash())
  real = { key: new Uint8Array(core.key!), root, length: core.length, fork: core.fork, sig: new Uint8Array(stored.subarray(2, 66)) }
  await core.close()
})

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

function migratePlain (overrides: Partial<MigratePlain> = {}): MigratePlain {
  const { key: from, length, fork, root: prologue, sig: headSig } = real
  return { from, length, fork, prologue, signer: old.publicKey, headSig, to: NEW_CUSTODIAN, lineage: [], ...overrides }
}

function flipped (bytes: Uint8Array, at = 0): Uint8Array {
  const out = new Uint8Array(bytes)
  out[at]! ^= 1
  return out
}

describe.each(PROVIDERS)('custody formats under $name', (crypto: CryptoProvider) => {
  const g0 = userKeysFromPhrase(PHRASE, crypto)
  const g1 = userKeysFromPhrase(PHRASE, crypto, 1)
  const g2 = userKeysFromPhrase(PHRASE, crypto, 2)
  const newChainKey = coreKeyOfSigner(crypto.signKeyPairFromSeed(fixedBytes('custody/new-custodian')).publicKey)
  const opts = (label: string) => ({ id: fixedBytes(`custody/${label}`, 16), time: T0 })

  describe('user keys by generation', () => {
    it('generation 0 is today\'s derivation; later generations differ and keep the user id', () => {
      expect(userKeysFromPhrase(PHRASE, crypto, 0)).toEqual(g0)
      for (const g of [g1, g2]) {
        expect(g.userId).toBe(g0.userId)
        expect(g.sign.publicKey).not.toEqual(g0.sign.publicKey)
        expect(g.box.publicKey).not.toEqual(g0.box.publicKey)
      }
      expect(g1.sign.publicKey).not.toEqual(g2.sign.publicKey)
      // The same phrase on a new device gives every generation again.
      expect(userKeysFromPhrase(`  ${PHRASE.toUpperCase()} `, crypto, 1)).toEqual(g1)
    })

    it('refuses a negative or fractional generation', () => {
      expectCode(() => userKeysFromPhrase(PHRASE, crypto, -1), 'INVALID_FIELD', 'generation')
      expectCode(() => userKeysFromPhrase(PHRASE, crypto, 1.5), 'INVALID_FIELD', 'generation')
    })

    it('nextKeyDigest is SHA-256 over the versioned domain and both public keys', () => {
      expect(NEXT_KEYS_DOMAIN).toBe('healthchain/v1/next-keys')
      const expected = sha256(concatBytes(utf8ToBytes('healthchain/v1/next-keys'), Uint8Array.of(0), g1.sign.publicKey, g1.box.publicKey))
      expect(nextKeyDigest(g1)).toEqual(expected)
      expect(nextKeyDigest({ sign: g1.sign.publicKey, box: g1.box.publicKey })).toEqual(expected)
      expect(nextKeyDigest({ sign: g1.box.publicKey, box: g1.sign.publicKey })).not.toEqual(expected)
      expect(domainTag(NEXT_KEYS_DOMAIN)).toEqual(concatBytes(utf8ToBytes(NEXT_KEYS_DOMAIN), Uint8Array.of(0)))
      expectCode(() => nextKeyDigest({ sign: g1.sign.publicKey.subarray(1), box: g1.box.publicKey }), 'BAD_KEY', 'sign')
    })
  })

  describe('genesis with a next-key commitment', () => {
    it('round-trips with `next`, and a genesis without it stays valid', () => {
      for (const next of [nextKeyDigest(g1), undefined]) {
        const genesis = signEntry(buildGenesis(g0, NEW_CUSTODIAN, { ...opts('genesis'), next }, crypto), { chainKey: newChainKey, seq: 0 }, g0.sign.secretKey, crypto)
        const decoded = decodeEntry(encodeEntry(genesis)) as EntryOf<'genesis'>
        expect(decoded.plain.next).toEqual(next)
        expect(verifyEntrySignature(decoded, { chainKey: newChainKey, seq: 0 }, g0.sign.publicKey, crypto)).toBe(true)
      }
    })

    it('refuses a `next` that is not 32 bytes', () => {
      expectCode(() => buildGenesis(g0, NEW_CUSTODIAN, { ...opts('genesis'), next: new Uint8Array(31) }, crypto), 'INVALID_FIELD', 'plain.next')
    })
  })

  describe('migrate', () => {
    it('a real Hypercore head: key, tree signable and stored signature are what core computes', () => {
      expect(coreKeyOfSigner(old.publicKey)).toEqual(real.key)
      expect(crypto.sign(treeSignable(real.key, real.root, real.length, real.fork), old.secretKey)).toEqual(real.sig)
      expect(verifyTreeHead({ ...real, signer: old.publicKey }, crypto)).toBe(true)
    })

    it('signed by the user for the new key and N, decodes, verifies and passes checkMigrate', () => {
      const slot = { chainKey: newChainKey, seq: real.length }
      const entry = signEntry(buildMigrate(migratePlain(), opts('migrate'), crypto), slot, g0.sign.secretKey, crypto)
      const decoded = decodeEntry(encodeEntry(entry)) as EntryOf<'migrate'>
      expect(decoded.type).toBe('migrate')
      expect(decoded.author).toBe('user')
      expect(verifyEntrySignature(decoded, slot, g0.sign.publicKey, crypto)).toBe(true)
      // Bound to the new chain and N: the same signature is worthless for the old chain or another slot.
      expect(verifyEntrySignature(decoded, { chainKey: real.key, seq: real.length }, g0.sign.publicKey, crypto)).toBe(false)
      expect(verifyEntrySignature(decoded, { chainKey: newChainKey, seq: real.length + 1 }, g0.sign.publicKey, crypto)).toBe(false)
      expect(() => checkMigrate(decoded.plain, crypto)).not.toThrow()
    })

    it('coreKeyOfManifest is Hypercore.key of the manifest, with and without a prologue, at every length encoding', () => {
      for (const length of [1, 252, 253, 65535, 65536, 2 ** 32, 2 ** 40]) {
        const prologue = { hash: real.root, length }
        const manifest = { version: 1, signers: [{ publicKey: Buffer.from(old.publicKey) }], prologue: { hash: Buffer.from(real.root), length } }
        expect(coreKeyOfManifest({ signer: old.publicKey, prologue })).toEqual(new Uint8Array(Hypercore.key(manifest)))
      }
      const plainManifest = { version: 1, signers: [{ publicKey: Buffer.from(old.publicKey) }] }
      expect(coreKeyOfManifest({ signer: old.publicKey })).toEqual(new Uint8Array(Hypercore.key(plainManifest)))
      expect(coreKeyOfManifest({ signer: old.publicKey })).toEqual(real.key)
      // A continuation core's head names its prologue, without which its signer does not own its key.
      const prologue = { hash: real.root, length: real.length }
      const key = coreKeyOfManifest({ signer: old.publicKey, prologue })
      const head = { key, signer: old.publicKey, length: 5, fork: 0, root: real.root, sig: crypto.sign(treeSignable(key, real.root, 5, 0), old.secretKey) }
      expect(verifyTreeHead({ ...head, prologue }, crypto)).toBe(true)
      expect(verifyTreeHead(head, crypto)).toBe(false)
    })

    it('a second migration: `from` is a continuation core, recomputed from its signer and the lineage\'s last link', () => {
      const mid = crypto.signKeyPairFromSeed(fixedBytes('custody/mid-custodian'))
      const midKey = coreKeyOfManifest({ signer: mid.publicKey, prologue: { hash: real.root, length: real.length } })
      const root = fixedBytes('custody/mid-root')
      const lineage = [{ key: real.key, length: real.length, prologue: real.root }]
      const second = (o: Partial<MigratePlain> = {}): MigratePlain => ({
        from: midKey,
        length: 7,
        fork: 0,
        prologue: root,
        signer: mid.publicKey,
        headSig: crypto.sign(treeSignable(midKey, root, 7, 0), mid.secretKey),
        to: NEW_CUSTODIAN,
        lineage,
        ...o
      })
      expect(() => checkMigrate(second(), crypto)).not.toThrow()
      expectCode(() => checkMigrate(second({ lineage: [{ ...lineage[0]!, prologue: flipped(real.root) }] }), crypto), 'BAD_SIGNATURE', 'plain.signer')
      expectCode(() => checkMigrate(second({ lineage: [{ ...lineage[0]!, length: real.length + 1 }] }), crypto), 'BAD_SIGNATURE', 'plain.signer')
      expectCode(() => checkMigrate(second({ lineage: [] }), crypto), 'BAD_SIGNATURE', 'plain.signer')
      expectCode(() => checkMigrate(second({ lineage: [{ ...lineage[0]!, length: 7 }] }), crypto), 'INVALID_FIELD', 'plain.length')
      const tooLong = Array.from({ length: MAX_LINEAGE + 1 }, (_, i) => ({ key: real.key, length: i + 1, prologue: real.root }))
      expectCode(() => checkMigrate(second({ length: 40, lineage: tooLong }), crypto), 'INVALID_FIELD', 'plain.lineage')
      expect(segmentsOfMigrate(second(), newChainKey)).toEqual([
        { key: real.key, start: 0, end: real.length }, { key: midKey, start: real.length, end: 7 }, { key: newChainKey, start: 7, end: undefined }
      ])
    })

    it('signed by the old custodian instead of the user does not verify as the user\'s', () => {
      const slot = { chainKey: newChainKey, seq: real.length }
      const entry = signEntry(buildMigrate(migratePlain(), opts('migrate'), crypto), slot, old.secretKey, crypto)
      expect(verifyEntrySignature(decodeEntry(encodeEntry(entry)), slot, g0.sign.publicKey, crypto)).toBe(false)
    })

    it('refuses a head that does not verify: signature, prologue, length or fork changed', () => {
      for (const plain of [
        migratePlain({ headSig: flipped(real.sig) }),
        migratePlain({ prologue: flipped(real.root) }),
        migratePlain({ length: real.length - 1 }),
        migratePlain({ fork: real.fork + 1 })
      ]) expectCode(() => checkMigrate(plain, crypto), 'BAD_SIGNATURE', 'plain.headSig')
    })

    it('refuses a signer that does not own `from`, even with its own valid signature', () => {
      const other = crypto.signKeyPairFromSeed(fixedBytes('custody/someone-else'))
      const headSig = crypto.sign(treeSignable(real.key, real.root, real.length, real.fork), other.secretKey)
      expectCode(() => checkMigrate(migratePlain({ signer: other.publicKey, headSig }), crypto), 'BAD_SIGNATURE', 'plain.signer')
      expectCode(() => checkMigrate(migratePlain({ from: flipped(real.key) }), crypto), 'BAD_SIGNATURE', 'plain.signer')
    })

    it('refuses length 0, a malformed `to` and an institution author', () => {
      expectCode(() => buildMigrate(migratePlain({ length: 0 }), opts('migrate'), crypto), 'INVALID_FIELD', 'plain.length')
      expectCode(() => checkMigrate(migratePlain({ length: 0 }), crypto), 'INVALID_FIELD', 'plain.length')
      for (const to of ['user', 'City-Clinic', 'x', '']) {
        expectCode(() => buildMigrate(migratePlain({ to: to as InstitutionId }), opts('migrate'), crypto), 'INVALID_FIELD', 'plain.to')
        expectCode(() => checkMigrate(migratePlain({ to: to as InstitutionId }), crypto), 'INVALID_FIELD', 'plain.to')
      }
      expectCode(() => buildMigrate({ ...migratePlain(), extra: 1 } as MigratePlain, opts('migrate'), crypto), 'INVALID_FIELD', 'plain.extra')
    })
  })

  describe('rekey', () => {
    const genesisNext = nextKeyDigest(g1)
    const slot = { chainKey: newChainKey, seq: 5 }

    it('reveals the committed keys, is signed by the new key and commits to the next', () => {
      const entry = signEntry(buildRekey(1, g1, g2, opts('rekey-1'), crypto), slot, g1.sign.secretKey, crypto)
      const decoded = decodeEntry(encodeEntry(entry)) as EntryOf<'rekey'>
      expect(decoded.plain).toEqual({ generation: 1, sign: g1.sign.publicKey, box: g1.box.publicKey, next: nextKeyDigest(g2) })
      expect(verifyEntrySignature(decoded, slot, decoded.plain.sign, crypto)).toBe(true)
      expect(() => checkRekey(genesisNext, decoded.plain)).not.toThrow()
      // The next rotation is checked against this one's commitment.
      const g3 = userKeysFromPhrase(PHRASE, crypto, 3)
      const second = buildRekey(2, g2, g3, opts('rekey-2'), crypto) as EntryOf<'rekey'>
      expect(() => checkRekey(decoded.plain.next, second.plain)).not.toThrow()
      expectCode(() => checkRekey(genesisNext, second.plain), 'BAD_KEY', 'plain.sign')
    })

    it('refuses keys that are not the committed ones', () => {
      // A thief with generation 0's key reveals keys of its own choosing, or skips a generation.
      const thief = crypto.signKeyPairFromSeed(fixedBytes('custody/thief'))
      const forged = buildRekey(1, { ...g1, sign: thief }, g2, opts('rekey-forged'), crypto) as EntryOf<'rekey'>
      expectCode(() => checkRekey(genesisNext, forged.plain), 'BAD_KEY', 'plain.sign')
      const skipped = buildRekey(2, g2, g1, opts('rekey-skip'), crypto) as EntryOf<'rekey'>
      expectCode(() => checkRekey(genesisNext, skipped.plain), 'BAD_KEY', 'plain.sign')
      const boxSwapped = buildRekey(1, { ...g1, box: g2.box }, g2, opts('rekey-box'), crypto) as EntryOf<'rekey'>
      expectCode(() => checkRekey(genesisNext, boxSwapped.plain), 'BAD_KEY', 'plain.sign')
    })

    it('signed by the old key does not verify under the revealed one', () => {
      const entry = signEntry(buildRekey(1, g1, g2, opts('rekey-1'), crypto), slot, g0.sign.secretKey, crypto) as EntryOf<'rekey'>
      expect(verifyEntrySignature(entry, slot, entry.plain.sign, crypto)).toBe(false)
    })

    it('refuses generation 0 and short keys', () => {
      expectCode(() => buildRekey(0, g1, g2, opts('rekey-0'), crypto), 'INVALID_FIELD', 'plain.generation')
      expectCode(() => buildRekey(1, { ...g1, box: { ...g1.box, publicKey: g1.box.publicKey.subarray(1) } }, g2, opts('rekey-short'), crypto), 'INVALID_FIELD', 'plain.box')
    })
  })

  it('only the user writes migrate and rekey', () => {
    for (const type of ['migrate', 'rekey'] as const) expect(ROLES.filter((r) => can(r, 'write', type))).toEqual(['user'])
  })
})
