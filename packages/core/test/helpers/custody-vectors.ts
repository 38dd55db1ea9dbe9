/**
 * The known-answer vectors of the custody formats (vectors/custody.json):
 * a genesis committing to the next keys, a rekey revealing them, a migrate
 * entry carrying the old custodian's head — and blocks that must be refused,
 * each by the check that refuses it. Computed from fixed inputs only, so
 * make-vectors.ts writes the same file every time and custody-vectors.test.ts
 * re-derives it under every provider.
 */
import {
  buildGenesis, buildMigrate, buildRekey, coreKeyOfManifest, coreKeyOfSigner, domainTag, encodeCanonical, encodeEntry, encodeEntryBody, ENTRY_SIGNATURE_DOMAIN,
  entrySigningMessage, MAX_LINEAGE, nextKeyDigest, signEntry, signingMessage, treeSignable, userKeysFromPhrase,
  type CryptoProvider, type InstitutionId, type MigratePlain, type UnsignedEntry, type UserKeys
} from '@healthchain/core'
import { fixedBytes } from './deterministic-crypto.js'
import { hex, toTagged, type Tagged } from './tagged-json.js'

/** parties.json's user. */
export const CUSTODY_PHRASE = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'
const T0 = Date.UTC(2024, 2, 1, 9, 0, 0)
const MIN = 60_000

/** Which check refuses a reject case: decodeEntry, the author signature, checkMigrate or checkRekey. */
export type CustodyCheck = 'decode' | 'signature' | 'migrate' | 'rekey'

export interface CustodyCase {
  name: string
  /** 'chain' (the user's chain), 'continuation' (the new custodian's core) or 'second' (the continuation of that one). */
  chain: CustodyChain
  seq: number
  /** 'user/<generation>' or 'old-custodian': whose key signs. */
  signer: string
  entry: Tagged
  bytes: string
  body: string
  signingMessage: string
  signature: string
}

export type CustodyChain = 'chain' | 'continuation' | 'second'

export interface CustodyReject {
  name: string
  chain: CustodyChain
  seq: number
  hex: string
  check: CustodyCheck
  code: string
  field?: string
}

export interface CustodyFile {
  description: string
  phrase: string
  /** Public keys of each generation and the digest that commits to them. */
  generations: Array<{ generation: number, signPublicKey: string, boxPublicKey: string, digest: string }>
  oldCustodian: { signSeed: string, signPublicKey: string }
  /** The old chain's key (coreKeyOfSigner of the old custodian's key), its head, and the continuation core's key. */
  oldChainKey: string
  head: { length: number, fork: number, root: string, signable: string, sig: string }
  chainKey: string
  continuationKey: string
  /** The second migration: the middle custodian, its core (a continuation of oldChainKey at head.length), its head, and the next core. */
  midCustodian: { signSeed: string, signPublicKey: string }
  midChainKey: string
  midHead: { length: number, fork: number, root: string, signable: string, sig: string }
  secondKey: string
  cases: CustodyCase[]
  rejects: CustodyReject[]
}

/** Every output of custody.json, computed with `crypto`. */
export function computeCustodyFile (crypto: CryptoProvider): CustodyFile {
  const gens = [0, 1, 2].map((g) => userKeysFromPhrase(CUSTODY_PHRASE, crypto, g))
  const [g0, g1, g2] = gens as [UserKeys, UserKeys, UserKeys]
  const oldSeed = fixedBytes('custody/old-custodian/sign')
  const old = crypto.signKeyPairFromSeed(oldSeed)
  const stranger = crypto.signKeyPairFromSeed(fixedBytes('custody/stranger/sign'))
  const oldChainKey = coreKeyOfSigner(old.publicKey)
  const chainKey = fixedBytes('custody/chain-key')
  const continuationKey = fixedBytes('custody/continuation-key')
  const secondKey = fixedBytes('custody/second-continuation-key')
  const keyOf = { chain: chainKey, continuation: continuationKey, second: secondKey }
  const N = 8
  const root = fixedBytes('custody/old-tree-hash')
  const signable = treeSignable(oldChainKey, root, N, 0)
  const headSig = crypto.sign(signable, old.secretKey)
  const migrate: MigratePlain = {
    from: oldChainKey, length: N, fork: 0, prologue: root, signer: old.publicKey, headSig, to: 'north-clinic' as InstitutionId, lineage: []
  }
  // The second migration: north-clinic's core continues oldChainKey at N and grows to N2.
  const midSeed = fixedBytes('custody/mid-custodian/sign')
  const mid = crypto.signKeyPairFromSeed(midSeed)
  const midChainKey = coreKeyOfManifest({ signer: mid.publicKey, prologue: { hash: root, length: N } })
  const N2 = 13
  const midRoot = fixedBytes('custody/mid-tree-hash')
  const midSignable = treeSignable(midChainKey, midRoot, N2, 0)
  const second: MigratePlain = {
    from: midChainKey,
    length: N2,
    fork: 0,
    prologue: midRoot,
    signer: mid.publicKey,
    headSig: crypto.sign(midSignable, mid.secretKey),
    to: 'east-clinic' as InstitutionId,
    lineage: [{ key: oldChainKey, length: N, prologue: root }]
  }
  const id = (label: string) => fixedBytes(`custody/id/${label}`, 16)

  const signers: Record<string, Uint8Array> = {
    'user/0': g0.sign.secretKey, 'user/1': g1.sign.secretKey, 'user/2': g2.sign.secretKey, 'old-custodian': old.secretKey
  }
  const one = (name: string, chain: CustodyChain, seq: number, signer: string, unsigned: UnsignedEntry): CustodyCase => {
    const slot = { chainKey: keyOf[chain], seq }
    const signed = signEntry(unsigned, slot, signers[signer]!, crypto)
    return {
      name,
      chain,
      seq,
      signer,
      entry: toTagged(signed),
      bytes: hex(encodeEntry(signed)),
      body: hex(encodeEntryBody(unsigned)),
      signingMessage: hex(entrySigningMessage(unsigned, slot)),
      signature: hex(signed.sig)
    }
  }
  const genesis = buildGenesis(g0, 'st-mary-hospital' as InstitutionId, { id: id('genesis'), time: T0, next: nextKeyDigest(g1) }, crypto)
  const cases = [
    one('genesis-with-next', 'chain', 0, 'user/0', genesis),
    one('rekey-generation-1', 'chain', 1, 'user/1', buildRekey(1, g1, g2, { id: id('rekey'), time: T0 + MIN }, crypto)),
    one('migrate', 'continuation', N, 'user/0', buildMigrate(migrate, { id: id('migrate'), time: T0 + 2 * MIN }, crypto)),
    one('second-migrate', 'second', N2, 'user/0', buildMigrate(second, { id: id('second-migrate'), time: T0 + 3 * MIN }, crypto))
  ]

  const rejects: CustodyReject[] = []
  const reject = (r: Omit<CustodyReject, 'hex'>, bytes: Uint8Array): void => { rejects.push({ ...r, hex: hex(bytes) }) }
  const signedBlock = (c: Omit<CustodyReject, 'hex' | 'name' | 'check' | 'code'> & { signer: string, unsigned: UnsignedEntry }): Uint8Array =>
    encodeEntry(signEntry(c.unsigned, { chainKey: keyOf[c.chain], seq: c.seq }, signers[c.signer]!, crypto))
  /** A block whose body the schema refuses, still signed properly by `signer`: only the content is wrong. */
  const rawBlock = (chain: CustodyChain, seq: number, signer: string, fields: Record<string, unknown>): Uint8Array => {
    const body = encodeCanonical(fields)
    const sig = crypto.sign(signingMessage(domainTag(ENTRY_SIGNATURE_DOMAIN), { chainKey: keyOf[chain], seq }, body), signers[signer]!)
    return encodeCanonical([1, body, sig])
  }
  const migrateFields = (plain: Record<string, unknown>) => ({ type: 'migrate', id: id('migrate'), time: T0 + 2 * MIN, author: 'user', plain: { ...migrate, ...plain } })
  const build = (plain: Partial<MigratePlain>) => buildMigrate({ ...migrate, ...plain }, { id: id('migrate'), time: T0 + 2 * MIN }, crypto)

  reject({ name: 'migrate signed by the old custodian, not the user', chain: 'continuation', seq: N, check: 'signature', code: 'BAD_SIGNATURE' },
    signedBlock({ chain: 'continuation', seq: N, signer: 'old-custodian', unsigned: build({}) }))
  reject({ name: 'migrate whose head signature does not verify', chain: 'continuation', seq: N, check: 'migrate', code: 'BAD_SIGNATURE', field: 'plain.headSig' },
    signedBlock({ chain: 'continuation', seq: N, signer: 'user/0', unsigned: build({ prologue: fixedBytes('custody/another-tree-hash') }) }))
  reject({ name: 'migrate whose head signer does not own the old chain key', chain: 'continuation', seq: N, check: 'migrate', code: 'BAD_SIGNATURE', field: 'plain.signer' },
    signedBlock({ chain: 'continuation', seq: N, signer: 'user/0', unsigned: build({ signer: stranger.publicKey, headSig: crypto.sign(signable, stranger.secretKey) }) }))
  reject({ name: 'migrate with length 0', chain: 'continuation', seq: 0, check: 'decode', code: 'INVALID_FIELD', field: 'plain.length' },
    rawBlock('continuation', 0, 'user/0', migrateFields({ length: 0 })))
  reject({ name: 'migrate to something that is not an institution id', chain: 'continuation', seq: N, check: 'decode', code: 'INVALID_FIELD', field: 'plain.to' },
    rawBlock('continuation', N, 'user/0', migrateFields({ to: 'North Clinic' })))
  // An institution may write a migrate (the examiner a governance reassignment names), but signing against a registry length.
  reject({ name: 'migrate written by an institution without reg', chain: 'continuation', seq: N, check: 'decode', code: 'INVALID_FIELD', field: 'reg' },
    rawBlock('continuation', N, 'old-custodian', { ...migrateFields({}), author: 'st-mary-hospital' }))
  reject({ name: 'rekey revealing keys the genesis did not commit to (generation 2)', chain: 'chain', seq: 1, check: 'rekey', code: 'BAD_KEY', field: 'plain.sign' },
    signedBlock({ chain: 'chain', seq: 1, signer: 'user/2', unsigned: buildRekey(1, g2, g2, { id: id('rekey'), time: T0 + MIN }, crypto) }))
  reject({ name: 'rekey signed by the old key', chain: 'chain', seq: 1, check: 'signature', code: 'BAD_SIGNATURE' },
    signedBlock({ chain: 'chain', seq: 1, signer: 'user/0', unsigned: buildRekey(1, g1, g2, { id: id('rekey'), time: T0 + MIN }, crypto) }))
  const buildSecond = (plain: Partial<MigratePlain>) => buildMigrate({ ...second, ...plain }, { id: id('second-migrate'), time: T0 + 3 * MIN }, crypto)
  const otherRoot = fixedBytes('custody/another-tree-hash')
  reject({
    name: 'second migrate whose lineage\'s last prologue does not give `from`',
    chain: 'second',
    seq: N2,
    check: 'migrate',
    code: 'BAD_SIGNATURE',
    field: 'plain.signer'
  },
  signedBlock({ chain: 'second', seq: N2, signer: 'user/0', unsigned: buildSecond({ lineage: [{ key: oldChainKey, length: N, prologue: otherRoot }] }) }))
  reject({
    name: 'second migrate with an empty lineage (`from` is a continuation core)',
    chain: 'second',
    seq: N2,
    check: 'migrate',
    code: 'BAD_SIGNATURE',
    field: 'plain.signer'
  },
  signedBlock({ chain: 'second', seq: N2, signer: 'user/0', unsigned: buildSecond({ lineage: [] }) }))
  reject({ name: 'migrate whose lineage does not rise', chain: 'second', seq: N2, check: 'migrate', code: 'INVALID_FIELD', field: 'plain.length' },
    signedBlock({ chain: 'second', seq: N2, signer: 'user/0', unsigned: buildSecond({ lineage: [{ key: oldChainKey, length: N2, prologue: root }] }) }))
  const tooLong = Array.from({ length: MAX_LINEAGE + 1 }, (_, i) => ({ key: oldChainKey, length: i + 1, prologue: root }))
  reject({ name: 'migrate with a lineage longer than 32', chain: 'second', seq: 40, check: 'decode', code: 'INVALID_FIELD', field: 'plain.lineage' },
    rawBlock('second', 40, 'user/0', { ...migrateFields({}), plain: { ...second, length: 40, lineage: tooLong } }))
  const genesisFields = { type: 'genesis', id: id('genesis'), time: T0, author: 'user', plain: { user: { sign: g0.sign.publicKey, box: g0.box.publicKey }, custodian: 'st-mary-hospital' } }
  reject({ name: 'genesis with a next of 31 bytes', chain: 'chain', seq: 0, check: 'decode', code: 'INVALID_FIELD', field: 'plain.next' },
    rawBlock('chain', 0, 'user/0', { ...genesisFields, plain: { ...genesisFields.plain, next: nextKeyDigest(g1).subarray(1) } }))
  reject({ name: 'genesis with a next as text', chain: 'chain', seq: 0, check: 'decode', code: 'INVALID_FIELD', field: 'plain.next' },
    rawBlock('chain', 0, 'user/0', { ...genesisFields, plain: { ...genesisFields.plain, next: hex(nextKeyDigest(g1)) } }))

  return {
    description: 'Custody transfer and pre-rotated user keys. Blocks as in entries.json ([v, body, sig], signed over "healthchain/v1/entry" 0x00 || ' +
      'chainKey || u64be(seq) || body; `chain` names the key: chainKey or continuationKey). User keys of generation g: as keys.json, HKDF info ' +
      '"sign"/"box" for g = 0 and "sign/<g>"/"box/<g>" (decimal) after; the user id is always generation 0\'s. digest = SHA-256("healthchain/v1/next-keys" ' +
      '0x00 || sign public || box public). A genesis may carry next = digest of generation 1; a rekey { generation, sign, box, next } is signed by ' +
      'its own `sign` and must hash to the previous next. A migrate at position N of the continuation core is signed by the user and carries the ' +
      'old custodian\'s Hypercore head: oldChainKey = Hypercore key of the single-signer v1 manifest of signer, headSig over treeSignable = ' +
      'BLAKE2b-256(BLAKE2b-256("hypercore") || 0x00) || oldChainKey || prologue || u64le(length) || u64le(fork). A second migrate (chain ' +
      '`second`, at midHead.length) carries lineage [{ key: oldChainKey, length: head.length, prologue: head.root }]: its `from` (midChainKey) is the ' +
      'Hypercore key of the v1 manifest of the mid custodian with prologue { hash: lineage[last].prologue, length: lineage[last].length }. `rejects`: blocks refused by ' +
      '`check` — decode (decodeEntry), signature (the author signature under the key it must have: the user\'s generation 0 for migrate, ' +
      'plain.sign for rekey), migrate (checkMigrate), rekey (checkRekey against the genesis\'s next) — with the CoreError code and field.',
    phrase: CUSTODY_PHRASE,
    generations: gens.map((k, generation) => ({
      generation, signPublicKey: hex(k.sign.publicKey), boxPublicKey: hex(k.box.publicKey), digest: hex(nextKeyDigest(k))
    })),
    oldCustodian: { signSeed: hex(oldSeed), signPublicKey: hex(old.publicKey) },
    oldChainKey: hex(oldChainKey),
    head: { length: N, fork: 0, root: hex(root), signable: hex(signable), sig: hex(headSig) },
    chainKey: hex(chainKey),
    continuationKey: hex(continuationKey),
    midCustodian: { signSeed: hex(midSeed), signPublicKey: hex(mid.publicKey) },
    midChainKey: hex(midChainKey),
    midHead: { length: N2, fork: 0, root: hex(midRoot), signable: hex(midSignable), sig: hex(second.headSig) },
    secondKey: hex(secondKey),
    cases,
    rejects
  }
}
