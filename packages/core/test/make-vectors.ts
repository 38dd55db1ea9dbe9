/**
 * Writes the known-answer vectors of packages/core to packages/core/test/vectors/*.json.
 *
 *   npx tsx packages/core/test/make-vectors.ts
 *
 * Every input is fixed (BIP39 phrases, seeds derived from labels, times, ids)
 * and randomBytes is a deterministic stream per case (see
 * packages/core/test/helpers/deterministic-crypto.ts), so running it again
 * writes the same files. Run it only when the wire format changes on purpose;
 * vectors.test.ts then proves both providers reproduce every byte.
 */
import { writeFileSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import Hypercore from 'hypercore'
import {
  decodeCanonical, encodeCanonical, encodeRegistryEntry, MAX_ENTRY_BYTES, MAX_REGISTRY_ENTRY_BYTES, nobleProvider, REGISTRY_MANIFEST_VERSION,
  registryCoreUserData, RegistryState, signRegistryEntry, type Entry, type UnsignedRegistryEntry
} from '@healthchain/core'
import { fixedBytes } from './helpers/deterministic-crypto.js'
import { computeCustodyFile } from './helpers/custody-vectors.js'
import { craft, craftEncode, sortKeysCanonically } from './helpers/cbor-craft.js'
import { hex, unhex, toTagged } from './helpers/tagged-json.js'
import {
  computeEntryCase, computeRegistryCase, computeUserKeys, deriveParties, keyPairFromSeeds, keyPairToFile, VECTORS_DIR,
  type EntriesFile, type EntryCase, type EntryCaseInput, type KeysFile, type PartiesFile, type RegistryCase,
  type RegistryCaseInput, type RegistryFile, type RejectCase, type RejectsFile
} from './helpers/vectors.js'

const crypto = nobleProvider
const T0 = Date.UTC(2024, 0, 15, 9, 0, 0)
const MIN = 60_000
const DAY = 86_400_000

function write (name: string, data: unknown): void {
  const dir = fileURLToPath(VECTORS_DIR)
  mkdirSync(dir, { recursive: true })
  writeFileSync(new URL(name, VECTORS_DIR), JSON.stringify(data, null, 2) + '\n')
  console.log(`wrote ${name}`)
}

function id (label: string): string {
  return hex(fixedBytes(`id/${label}`, 16))
}

// ------------------------------------------------------------------ keys

const PHRASES = [
  // BIP39's own test phrases (Trezor vectors), English, no passphrase.
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
  'legal winner thank year wave sausage worth useful legal winner thank yellow',
  'letter advice cage absurd amount doctor acoustic avoid letter advice cage above',
  'zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote'
]

const keysFile: KeysFile = {
  description: 'User keys from a BIP39 English phrase (normalised: trimmed, lowercased, single spaces; no passphrase). ' +
    'seed = BIP39 seed (64 bytes); Ed25519 seed = HKDF-SHA256(ikm = seed, salt = "healthchain/v1/user-keys", info = "sign", 32); ' +
    'X25519 secret = HKDF-SHA256(ikm = seed, salt = "healthchain/v1/user-keys", info = "box", 32); ' +
    'signSecretKey = Ed25519 seed || public key; userId = lowercase unpadded base32 of SHA-256("healthchain/v1/user-id" 0x00 || signPublicKey)[0..20].',
  cases: PHRASES.map((p) => computeUserKeys(p, crypto))
}

// --------------------------------------------------------------- parties

const KEY_LABELS = ['governance', 'registry-host', 'st-mary-hospital', 'st-mary-hospital/rotated', 'city-lab', 'north-clinic', 'gov-health-agency', 'health-regulator']

const partiesFile: PartiesFile = {
  description: 'The parties of entries.json and registry.json. The user derives keys from the phrase as in keys.json; ' +
    'each other key pair is an Ed25519 seed and an X25519 secret key (public keys given for checking).',
  user: {
    phrase: PHRASES[0]!,
    ...(({ signPublicKey, boxPublicKey, userId }) => ({ signPublicKey, boxPublicKey, userId }))(computeUserKeys(PHRASES[0]!, crypto))
  },
  keys: Object.fromEntries(KEY_LABELS.map((label) => {
    const signSeed = fixedBytes(`parties/${label}/sign`)
    const boxSecret = fixedBytes(`parties/${label}/box`)
    return [label, keyPairToFile(signSeed, keyPairFromSeeds(signSeed, boxSecret, crypto))]
  }))
}
const parties = deriveParties(partiesFile, crypto)
const key = (label: string) => parties.keys.get(label)!

// -------------------------------------------------------------- registry

// The host appends with a key pair of its own; the core's manifest binds the governance key, and the registry key is its hash.
const registryCoreUserDataBytes = registryCoreUserData(key('governance').sign.publicKey)
const registryKey = new Uint8Array(Hypercore.key({
  version: REGISTRY_MANIFEST_VERSION, signers: [{ publicKey: key('registry-host').sign.publicKey }], userData: registryCoreUserDataBytes
}))
const peer = (label: string) => `12D3KooW${hex(fixedBytes(`peer/${label}`, 16)).replace(/[0OIl]/g, 'z')}`

/** The time of registry case `seq`. */
const registryTime = (seq: number) => T0 - 30 * DAY + seq * MIN

const registryInputs: RegistryCaseInput[] = [
  { name: 'consortium', input: { type: 'consortium', plain: { name: 'Healthchain Test Consortium', governance: key('governance').sign.publicKey } } },
  {
    name: 'admit-st-mary-hospital',
    input: {
      type: 'admit',
      plain: {
        institution: 'st-mary-hospital',
        name: 'St Mary Hospital',
        role: 'examiner',
        sign: key('st-mary-hospital').sign.publicKey,
        box: key('st-mary-hospital').box.publicKey,
        peer: peer('st-mary-hospital'),
        addrs: ['/ip4/10.0.0.1/tcp/4001', '/dns4/node.st-mary.example/tcp/443/wss']
      }
    }
  },
  { name: 'admit-city-lab', input: { type: 'admit', plain: { institution: 'city-lab', name: 'City Laboratory', role: 'examiner', sign: key('city-lab').sign.publicKey, box: key('city-lab').box.publicKey } } },
  { name: 'admit-north-clinic', input: { type: 'admit', plain: { institution: 'north-clinic', name: 'North Clinic', role: 'examiner', sign: key('north-clinic').sign.publicKey, box: key('north-clinic').box.publicKey, peer: peer('north-clinic') } } },
  { name: 'admit-gov-health-agency', input: { type: 'admit', plain: { institution: 'gov-health-agency', name: 'Government Health Agency', role: 'inquirer', sign: key('gov-health-agency').sign.publicKey, box: key('gov-health-agency').box.publicKey } } },
  { name: 'admit-health-regulator', input: { type: 'admit', plain: { institution: 'health-regulator', name: 'Health Regulator', role: 'regulator', sign: key('health-regulator').sign.publicKey, box: key('health-regulator').box.publicKey } } },
  { name: 'suspend-city-lab', input: { type: 'suspend', plain: { institution: 'city-lab', reason: 'audit pending' } } },
  {
    name: 'rotate-st-mary-hospital',
    input: {
      type: 'rotate',
      plain: { institution: 'st-mary-hospital', sign: key('st-mary-hospital/rotated').sign.publicKey, box: key('st-mary-hospital/rotated').box.publicKey, addrs: ['/ip4/10.0.0.2/tcp/4001'] }
    }
  },
  // city-lab (suspended) has its chains reassigned to st-mary-hospital, after exactly the default notice period of 30 days.
  { name: 'reassign-city-lab', input: { type: 'reassign', plain: { institution: 'city-lab', to: 'st-mary-hospital', after: registryTime(8) + 30 * DAY } } },
  { name: 'suspend-north-clinic', input: { type: 'suspend', plain: { institution: 'north-clinic' } } }
].map((c, seq) => ({ name: c.name, seq, input: toTagged({ v: 1, ...c.input, id: fixedBytes(`registry/${c.name}`, 16), time: registryTime(seq) }) }))

const registryState = new RegistryState(registryKey, key('governance').sign.publicKey)
const registryCases: RegistryCase[] = registryInputs.map((c) => {
  const { signed: _signed, ...out } = computeRegistryCase(c, registryState, key('governance').sign.secretKey, crypto)
  return { ...c, ...out }
})

/** A registry block signed by `signer` for position `seq`: what a host holding only its own keys could make. */
function registryBlockSignedBy (signer: string, seq: number, input: Record<string, unknown>, time = T0 - 29 * DAY, label = signer): string {
  const unsigned = { v: 1, ...input, id: fixedBytes(`registry/reject/${seq}/${label}`, 16), time } as UnsignedRegistryEntry
  return hex(encodeRegistryEntry(signRegistryEntry(unsigned, { chainKey: registryKey, seq }, key(signer).sign.secretKey, crypto)))
}

/** A governance-signed reassign at the end of the cases that the transition rules refuse. */
function refusedReassign (name: string, plain: Record<string, unknown>): RegistryFile['rejects'][number] {
  const seq = registryCases.length
  const time = registryTime(seq)
  const input = { type: 'reassign', plain: { institution: 'city-lab', to: 'st-mary-hospital', after: time + 30 * DAY, ...plain } }
  return { name, seq, bytes: registryBlockSignedBy('governance', seq, input, time, `reassign/${name}`), code: 'REGISTRY_CONFLICT' }
}

const registryFile: RegistryFile = {
  description: 'A registry: block n is canonical CBOR { v, type, id, time, plain, sig }, signed by the governance key over ' +
    '"healthchain/v1/registry" 0x00 || registryKey || u64be(n) || CBOR of the entry without sig. ' +
    'The registry core is appended by the host\'s own key (`host`, never the governance key); its Hypercore manifest is ' +
    '{ version: 2, signers: [{ ed25519, default namespace, host public key }], userData: coreUserData } with ' +
    'coreUserData = "healthchain/v1/registry-core" 0x00 || governance public key, and registryKey = Hypercore.key(manifest). ' +
    '`state` lists every institution, `reassignments` every reassignment in force, as of registry length n + 1. ' +
    'A reassign needs a suspended institution, another active examiner as `to`, and `after` at least the notice period after its time ' +
    '(the consortium\'s noticeDays, 30 days when absent); a later reinstate of the institution cancels it. ' +
    '`rejects`: blocks a replica must refuse at position `seq` ' +
    '(after cases [0, seq) are applied) with the CoreError `code`.',
  registryKey: hex(registryKey),
  governance: 'governance',
  host: 'registry-host',
  coreUserData: hex(registryCoreUserDataBytes),
  cases: registryCases,
  rejects: [
    {
      name: 'an entry signed by the host\'s core key instead of the governance key',
      seq: registryCases.length,
      bytes: registryBlockSignedBy('registry-host', registryCases.length, { type: 'suspend', plain: { institution: 'st-mary-hospital' } }),
      code: 'BAD_SIGNATURE'
    },
    {
      name: 'block 0 naming the host\'s core key as governance, signed by it',
      seq: 0,
      bytes: registryBlockSignedBy('registry-host', 0, { type: 'consortium', plain: { name: 'Healthchain Test Consortium', governance: key('registry-host').sign.publicKey } }),
      code: 'BAD_SIGNATURE'
    },
    {
      name: 'an entry signed by an admitted institution\'s key',
      seq: registryCases.length,
      bytes: registryBlockSignedBy('north-clinic', registryCases.length, { type: 'suspend', plain: { institution: 'st-mary-hospital' } }),
      code: 'BAD_SIGNATURE'
    },
    refusedReassign('a reassignment of an active institution', { institution: 'gov-health-agency' }),
    refusedReassign('a reassignment to a suspended examiner', { to: 'north-clinic' }),
    refusedReassign('a reassignment to an institution that is not an examiner', { to: 'health-regulator' }),
    refusedReassign('a reassignment of an institution to itself', { to: 'city-lab' }),
    refusedReassign('a reassignment whose `after` is less than the notice period (30 days) after its time', {
      after: registryTime(registryCases.length) + 30 * DAY - 1
    })
  ]
}
/** Registry length after every admit and before the suspension: what the exams sign against. */
const REG = 6

// --------------------------------------------------------------- entries

const chainKey = fixedBytes('entries/chain-key')
const entryInputs: EntryCaseInput[] = [
  { name: 'genesis', seq: 0, signer: 'user', input: { type: 'genesis', id: id('genesis'), time: T0, custodian: 'st-mary-hospital' } },
  {
    name: 'exam-st-mary-hospital',
    seq: 1,
    signer: 'st-mary-hospital',
    input: {
      type: 'exam',
      id: id('exam-1'),
      time: T0 + 30 * MIN,
      author: 'st-mary-hospital',
      reg: REG,
      plain: {
        title: 'Annual check-up',
        observations: [
          { code: '8480-6', value: 128, unit: 'mm[Hg]', low: 90, high: 140 },
          { code: '8462-4', value: 82, unit: 'mm[Hg]', low: 60, high: 90 },
          { code: '29463-7', value: 72.5, unit: 'kg', time: T0 + 10 * MIN },
          { code: '8302-2', value: 1.78, unit: 'm' }
        ]
      },
      sealed: {
        observations: [{ code: '4548-4', value: 5.9, unit: '%', high: 5.7 }, { code: '94500-6', value: 'not detected' }],
        notes: 'Borderline HbA1c; repeat in six months.'
      },
      recipients: ['user', 'st-mary-hospital', 'city-lab']
    }
  },
  {
    name: 'exercise',
    seq: 2,
    signer: 'user',
    input: {
      type: 'exercise',
      id: id('exercise'),
      time: T0 + DAY,
      plain: {
        start: T0 + DAY - 45 * MIN,
        end: T0 + DAY,
        observations: [{ code: '55423-8', value: 6120, unit: '{steps}' }, { code: '8867-4', value: 131, unit: '/min' }, { code: '41981-2', value: 312.25, unit: 'kcal' }]
      }
    }
  },
  {
    name: 'location',
    seq: 3,
    signer: 'user',
    input: {
      type: 'location',
      id: id('location'),
      time: T0 + 2 * DAY,
      plain: {
        points: [
          { lat: 51.5, lon: -0.125, acc: 12.5, time: T0 + 2 * DAY - 20 * MIN },
          { lat: 51.50721, lon: -0.12758, acc: 8, time: T0 + 2 * DAY - 10 * MIN },
          { lat: -33.8688, lon: 151.2093, acc: 1500.75, time: T0 + 2 * DAY }
        ]
      }
    }
  },
  {
    name: 'exam-city-lab',
    seq: 4,
    signer: 'city-lab',
    input: {
      type: 'exam',
      id: id('exam-2'),
      time: T0 + 3 * DAY,
      author: 'city-lab',
      reg: REG,
      plain: { observations: [{ code: '2093-3', value: 5.2, unit: 'mmol/L', high: 5 }] },
      sealed: { notes: 'Lipid panel reviewed.' },
      // The user appears twice: sealing keeps one slot per key.
      recipients: ['user', 'city-lab', 'user']
    }
  },
  {
    name: 'consent-grant-with-rewrap',
    seq: 5,
    signer: 'user',
    input: { type: 'consent-grant', id: id('grant'), time: T0 + 4 * DAY, examiner: 'north-clinic', until: T0 + 400 * DAY, history: [1, 2, 4] }
  },
  { name: 'consent-revoke', seq: 6, signer: 'user', input: { type: 'consent-revoke', id: id('revoke'), time: T0 + 5 * DAY, examiner: 'city-lab' } },
  // Given unsorted, with a duplicate: the builder sorts and deduplicates.
  { name: 'erasure', seq: 7, signer: 'user', input: { type: 'erasure', id: id('erasure'), time: T0 + 6 * DAY, entries: [3, 2, 3] } }
].map((c) => ({ ...c, rng: `entries/${c.name}` }) as EntryCaseInput)

const signedBySeq = new Map<number, Entry>()
const entryCases: EntryCase[] = entryInputs.map((c) => {
  const { signed, ...out } = computeEntryCase(c, chainKey, parties, signedBySeq, crypto)
  signedBySeq.set(c.seq, signed)
  return { ...c, ...out }
})
const entriesFile: EntriesFile = {
  description: 'One user chain. Block n (`bytes`) is canonical CBOR (RFC 8949 §4.2.1) of the array [v, body, sig], where body is the byte string ' +
    'canonical CBOR of the map { type, id, time, author, reg?, plain, sealed? } (the entry without v and sig); ' +
    'sig is the signer\'s Ed25519 signature of signingMessage = "healthchain/v1/entry" 0x00 || chainKey || u64be(seq) || body. ' +
    '`entry` is the decoded entry (v and sig included), byte strings as { "$bytes": hex }. ' +
    'randomBytes during sealing is the stream of deterministic-crypto.ts seeded with `rng`: ' +
    'block i = SHA-256("healthchain-test/rng" 0x00 || utf8(rng) || u64be(i)). Exams draw data key (32), nonce (24), ephemeral secret (32) in that order; ' +
    'a grant with history draws one ephemeral secret (32). Signers and recipients are named by their label in parties.json.',
  chainKey: hex(chainKey),
  cases: entryCases
}

// --------------------------------------------------------------- rejects

const entryCase = (name: string) => entryCases.find((c) => c.name === name)!
const blockBytes = (name: string) => unhex(entryCase(name).bytes)
const bodyBytes = (name: string) => unhex(entryCase(name).body)
const bodyOf = (name: string) => decodeCanonical(bodyBytes(name)) as Record<string, any>
const sigOf = (name: string) => unhex(entryCase(name).signature)
/** A block around raw body bytes, canonical at the block level. */
const block = (body: unknown, sig: unknown = sigOf('genesis'), v: unknown = 1) => encodeCanonical([v, body, sig])
/** A block whose body is `fields`, canonically encoded: only the content is wrong. */
const withBody = (name: string, fields: Record<string, any>) => block(encodeCanonical(fields), sigOf(name))
/** A block whose body bytes are crafted (non-canonical on purpose). */
const withCraftedBody = (name: string, fields: unknown) => block(craftEncode(fields), sigOf(name))
const registryDecoded = (name: string) => decodeCanonical(unhex(registryCases.find((c) => c.name === name)!.bytes)) as Record<string, any>

const genesis = bodyOf('genesis')
const exam = bodyOf('exam-st-mary-hospital')
const exercise = bodyOf('exercise')
const location = bodyOf('location')
const grant = bodyOf('consent-grant-with-rewrap')
const erasure = bodyOf('erasure')
const admit = registryDecoded('admit-city-lab')

// The writers must reproduce the real bytes when asked to, or the altered outputs prove nothing.
for (const c of entryCases) {
  if (hex(block(unhex(c.body), unhex(c.signature))) !== c.bytes) throw new Error(`block layout of ${c.name} is not [1, body, sig]`)
  if (hex(craftEncode(sortKeysCanonically(bodyOf(c.name)))) !== c.body) throw new Error(`craftEncode does not reproduce the body of ${c.name}`)
}

function without (value: Record<string, any>, key: string): Record<string, any> {
  const { [key]: _removed, ...rest } = value
  return rest
}
function reversedKeys (value: Record<string, any>): Record<string, any> {
  return Object.fromEntries(Object.entries(sortKeysCanonically(value) as Record<string, any>).reverse())
}

type Reject = Omit<RejectCase, 'decoder' | 'hex'> & { bytes: Uint8Array, decoder?: RejectCase['decoder'] }
const sortedGenesis = sortKeysCanonically(genesis) as Record<string, any>
const sortedExam = sortKeysCanonically(exam) as Record<string, any>
const sortedLocation = sortKeysCanonically(location) as Record<string, any>
const gBody = bodyBytes('genesis')
const gSig = sigOf('genesis')
const gBlock = blockBytes('genesis')
const withPlain = (name: string, entry: Record<string, any>, plain: Record<string, any>) => withBody(name, { ...entry, plain })
const regInvalid = { code: 'INVALID_FIELD', field: 'reg' } as const
/** A migrate body as the examiner a reassignment names writes it (the plain only needs its shape here: decoding checks no signature). */
const migrateByInstitution = {
  type: 'migrate',
  id: fixedBytes('rejects/migrate/id', 16),
  time: T0 + 40 * DAY,
  author: 'st-mary-hospital',
  reg: 9,
  plain: {
    from: fixedBytes('rejects/migrate/from'),
    length: 8,
    fork: 0,
    prologue: fixedBytes('rejects/migrate/prologue'),
    signer: fixedBytes('rejects/migrate/signer'),
    headSig: fixedBytes('rejects/migrate/head-sig', 64),
    to: 'st-mary-hospital',
    lineage: []
  }
}
const locationPoint0 = (change: (p: any) => any) => (
  { ...sortedLocation, plain: { points: sortedLocation.plain.points.map((p: any, i: number) => i === 0 ? change(p) : p) } }
)

const rejects: Reject[] = [
  // The block: canonical CBOR [v, body, sig].
  { name: 'block: array length in two bytes', bytes: Uint8Array.from([0x98, 0x03, ...gBlock.subarray(1)]), code: 'MALFORMED' },
  { name: 'block: version in two bytes', bytes: Uint8Array.from([0x83, 0x18, 0x01, ...gBlock.subarray(2)]), code: 'MALFORMED' },
  { name: 'block: body length in eight bytes', bytes: craftEncode([1, craft.longBytes(gBody), gSig]), code: 'MALFORMED' },
  { name: 'block: indefinite-length array', bytes: Uint8Array.from([0x9f, ...gBlock.subarray(1), 0xff]), code: 'MALFORMED' },
  { name: 'block: signature as an indefinite-length byte string', bytes: craftEncode([1, gBody, craft.indefBytes([gSig.subarray(0, 32), gSig.subarray(32)])]), code: 'MALFORMED' },
  { name: 'block: trailing bytes', bytes: Uint8Array.from([...gBlock, 0x00]), code: 'MALFORMED' },
  { name: 'block: truncated', bytes: gBlock.subarray(0, gBlock.length - 1), code: 'MALFORMED' },
  { name: 'block: empty', bytes: new Uint8Array(0), code: 'MALFORMED' },
  { name: 'block: the entry as a map instead of [v, body, sig]', bytes: encodeCanonical({ ...genesis, v: 1, sig: gSig }), code: 'MALFORMED' },
  { name: 'block: a number', bytes: encodeCanonical(1), code: 'MALFORMED' },
  { name: 'block: two elements (no signature)', bytes: encodeCanonical([1, gBody]), code: 'MALFORMED' },
  { name: 'block: four elements', bytes: encodeCanonical([1, gBody, gSig, 0]), code: 'MALFORMED' },
  { name: 'block: tagged body', bytes: craftEncode([1, craft.raw(Uint8Array.from([0xd8, 0x18, ...encodeCanonical(gBody)])), gSig]), code: 'MALFORMED' },
  { name: 'block: version 2', bytes: block(gBody, gSig, 2), code: 'UNSUPPORTED_VERSION', field: 'v' },
  { name: 'block: version 0', bytes: block(gBody, gSig, 0), code: 'UNSUPPORTED_VERSION', field: 'v' },
  { name: 'block: version as text', bytes: block(gBody, gSig, '1'), code: 'MALFORMED', field: 'v' },
  { name: 'block: body as a map, not a byte string', bytes: block(genesis, gSig), code: 'MALFORMED', field: 'body' },
  { name: 'block: signature of 63 bytes', bytes: block(gBody, gSig.subarray(1)), code: 'INVALID_FIELD', field: 'sig' },
  { name: 'block: signature as text', bytes: block(gBody, hex(gSig)), code: 'INVALID_FIELD', field: 'sig' },
  { name: 'oversized (one byte over the limit)', bytes: gBlock, padTo: MAX_ENTRY_BYTES + 1, code: 'TOO_LARGE' },
  // The body: canonical CBOR of a map, or MALFORMED.
  { name: 'body: map keys out of order', bytes: withCraftedBody('genesis', reversedKeys(genesis)), code: 'MALFORMED' },
  { name: 'body: nested map keys out of order', bytes: withCraftedBody('genesis', { ...sortedGenesis, plain: reversedKeys(genesis.plain) }), code: 'MALFORMED' },
  { name: 'body: non-minimal integer (reg in two bytes)', bytes: withCraftedBody('exam-st-mary-hospital', { ...sortedExam, reg: craft.uint(exam.reg, 1) }), code: 'MALFORMED' },
  { name: 'body: non-minimal integer (reg in nine bytes)', bytes: withCraftedBody('exam-st-mary-hospital', { ...sortedExam, reg: craft.uint(exam.reg, 8) }), code: 'MALFORMED' },
  { name: 'body: non-minimal byte string length', bytes: withCraftedBody('genesis', { ...sortedGenesis, id: craft.longBytes(genesis.id) }), code: 'MALFORMED' },
  { name: 'body: integer written as float64', bytes: withCraftedBody('genesis', { ...sortedGenesis, time: craft.f64(genesis.time) }), code: 'MALFORMED' },
  { name: 'body: float64 where float16 keeps the value', bytes: withCraftedBody('location', locationPoint0((p) => ({ ...p, lat: craft.f64(p.lat) }))), code: 'MALFORMED' },
  { name: 'body: float32 where float16 keeps the value', bytes: withCraftedBody('location', locationPoint0((p) => ({ ...p, acc: craft.f32(p.acc) }))), code: 'MALFORMED' },
  { name: 'body: indefinite-length map', bytes: withCraftedBody('genesis', { ...sortedGenesis, plain: craft.indefMap(sortKeysCanonically(genesis.plain) as Record<string, unknown>) }), code: 'MALFORMED' },
  { name: 'body: indefinite-length byte string', bytes: withCraftedBody('genesis', { ...sortedGenesis, id: craft.indefBytes([genesis.id.subarray(0, 8), genesis.id.subarray(8)]) }), code: 'MALFORMED' },
  { name: 'body: duplicate map key', bytes: withCraftedBody('genesis', craft.map([...Object.entries(sortedGenesis), ['time', genesis.time]])), code: 'MALFORMED' },
  { name: 'body: trailing bytes', bytes: block(Uint8Array.from([...gBody, 0x00]), gSig), code: 'MALFORMED' },
  { name: 'body: truncated', bytes: block(gBody.subarray(0, gBody.length - 1), gSig), code: 'MALFORMED' },
  { name: 'body: empty', bytes: block(new Uint8Array(0), gSig), code: 'MALFORMED' },
  { name: 'body: tagged value (tag 64 on the id)', bytes: withCraftedBody('genesis', { ...sortedGenesis, id: craft.raw(Uint8Array.from([0xd8, 0x40, ...encodeCanonical(genesis.id)])) }), code: 'MALFORMED' },
  { name: 'body: undefined simple value', bytes: withCraftedBody('genesis', { ...sortedGenesis, reg: craft.raw(Uint8Array.from([0xf7])) }), code: 'MALFORMED' },
  { name: 'body: integer beyond 2^53', bytes: withCraftedBody('genesis', { ...sortedGenesis, time: craft.raw(Uint8Array.from([0x1b, 0x00, 0x20, 0, 0, 0, 0, 0, 0])) }), code: 'MALFORMED' },
  { name: 'body: NaN', bytes: withCraftedBody('genesis', { ...sortedGenesis, time: craft.raw(Uint8Array.from([0xf9, 0x7e, 0x00])) }), code: 'MALFORMED' },
  { name: 'body: an array', bytes: block(encodeCanonical(['genesis']), gSig), code: 'MALFORMED' },
  { name: 'body: carries v', bytes: withBody('genesis', { ...genesis, v: 1 }), code: 'INVALID_FIELD', field: 'v' },
  { name: 'body: carries sig', bytes: withBody('genesis', { ...genesis, sig: gSig }), code: 'INVALID_FIELD', field: 'sig' },
  // Canonical, but the content is wrong.
  { name: 'unknown type', bytes: withBody('genesis', { ...genesis, type: 'prescription' }), code: 'UNKNOWN_TYPE', field: 'type' },
  { name: 'registry type in a user chain', bytes: withBody('genesis', { ...genesis, type: 'admit' }), code: 'UNKNOWN_TYPE', field: 'type' },
  { name: 'type is not a string', bytes: withBody('genesis', { ...genesis, type: 1 }), code: 'UNKNOWN_TYPE', field: 'type' },
  { name: 'missing type', bytes: withBody('genesis', without(genesis, 'type')), code: 'UNKNOWN_TYPE', field: 'type' },
  { name: 'missing time', bytes: withBody('genesis', without(genesis, 'time')), code: 'INVALID_FIELD', field: 'time' },
  { name: 'missing id', bytes: withBody('genesis', without(genesis, 'id')), code: 'INVALID_FIELD', field: 'id' },
  { name: 'missing author', bytes: withBody('genesis', without(genesis, 'author')), code: 'INVALID_FIELD', field: 'author' },
  { name: 'missing plain', bytes: withBody('genesis', without(genesis, 'plain')), code: 'INVALID_FIELD', field: 'plain' },
  { name: 'extra top-level field', bytes: withBody('genesis', { ...genesis, note: 'x' }), code: 'INVALID_FIELD', field: 'note' },
  { name: 'extra field in plain', bytes: withPlain('genesis', genesis, { ...genesis.plain, extra: 1 }), code: 'INVALID_FIELD', field: 'plain.extra' },
  { name: 'extra field in a nested map', bytes: withPlain('genesis', genesis, { ...genesis.plain, user: { ...genesis.plain.user, sign2: genesis.plain.user.sign } }), code: 'INVALID_FIELD', field: 'plain.user.sign2' },
  { name: 'id of 15 bytes', bytes: withBody('genesis', { ...genesis, id: genesis.id.subarray(1) }), code: 'INVALID_FIELD', field: 'id' },
  { name: 'time before 2000', bytes: withBody('genesis', { ...genesis, time: Date.UTC(1999, 11, 31) }), code: 'INVALID_FIELD', field: 'time' },
  { name: 'time not an integer', bytes: withBody('genesis', { ...genesis, time: genesis.time + 0.5 }), code: 'INVALID_FIELD', field: 'time' },
  { name: 'genesis key of 31 bytes', bytes: withPlain('genesis', genesis, { ...genesis.plain, user: { ...genesis.plain.user, box: genesis.plain.user.box.subarray(1) } }), code: 'INVALID_FIELD', field: 'plain.user.box' },
  { name: 'custodian is not an institution id', bytes: withPlain('genesis', genesis, { ...genesis.plain, custodian: 'user' }), code: 'INVALID_FIELD', field: 'plain.custodian' },
  { name: 'user entry with reg', bytes: withBody('exercise', { ...exercise, reg: 6 }), code: 'INVALID_FIELD', field: 'reg' },
  { name: 'genesis with reg', bytes: withBody('genesis', { ...genesis, reg: 0 }), code: 'INVALID_FIELD', field: 'reg' },
  { name: 'exam without reg', bytes: withBody('exam-st-mary-hospital', without(exam, 'reg')), code: 'INVALID_FIELD', field: 'reg' },
  { name: 'exam without sealed', bytes: withBody('exam-st-mary-hospital', without(exam, 'sealed')), code: 'INVALID_FIELD', field: 'sealed' },
  { name: 'exercise with sealed', bytes: withBody('exercise', { ...exercise, sealed: exam.sealed }), code: 'INVALID_FIELD', field: 'sealed' },
  { name: 'exam written by the user', bytes: withBody('exam-st-mary-hospital', { ...without(exam, 'reg'), author: 'user' }), code: 'INVALID_FIELD', field: 'author' },
  { name: 'exercise written by an institution', bytes: withBody('exercise', { ...exercise, author: 'st-mary-hospital' }), code: 'INVALID_FIELD', field: 'author' },
  // A migrate may be written by an institution (the examiner a reassignment names), but like every institution entry it signs against a registry length.
  { name: 'migrate written by an institution without reg', bytes: withBody('genesis', without(migrateByInstitution, 'reg')), ...regInvalid },
  { name: 'migrate written by the user with reg', bytes: withBody('genesis', { ...migrateByInstitution, author: 'user' }), ...regInvalid },
  {
    name: 'observation with an invalid LOINC code',
    bytes: withPlain('exam-st-mary-hospital', exam, { ...exam.plain, observations: [{ ...exam.plain.observations[0], code: '8480' }, ...exam.plain.observations.slice(1)] }),
    code: 'INVALID_FIELD',
    field: 'plain.observations.0.code'
  },
  {
    name: 'observation with a space in its unit',
    bytes: withPlain('exam-st-mary-hospital', exam, { ...exam.plain, observations: [exam.plain.observations[0], { ...exam.plain.observations[1], unit: 'mm Hg' }] }),
    code: 'INVALID_FIELD',
    field: 'plain.observations.1.unit'
  },
  { name: 'title with a control character', bytes: withPlain('exam-st-mary-hospital', exam, { ...exam.plain, title: 'a\u0007b' }), code: 'INVALID_FIELD', field: 'plain.title' },
  { name: 'sealed segment with no recipients', bytes: withBody('exam-st-mary-hospital', { ...exam, sealed: { ...exam.sealed, to: [] } }), code: 'INVALID_FIELD', field: 'sealed.to' },
  { name: 'sealed nonce of 12 bytes', bytes: withBody('exam-st-mary-hospital', { ...exam, sealed: { ...exam.sealed, nonce: exam.sealed.nonce.subarray(0, 12) } }), code: 'INVALID_FIELD', field: 'sealed.nonce' },
  { name: 'exercise ending before it starts', bytes: withPlain('exercise', exercise, { ...exercise.plain, end: exercise.plain.start - 1 }), code: 'INVALID_FIELD', field: 'plain.end' },
  { name: 'exercise without observations', bytes: withPlain('exercise', exercise, { ...exercise.plain, observations: [] }), code: 'INVALID_FIELD', field: 'plain.observations' },
  { name: 'latitude above 90', bytes: withPlain('location', location, { points: [{ ...location.plain.points[0], lat: 90.5 }] }), code: 'INVALID_FIELD', field: 'plain.points.0.lat' },
  { name: 'consent with an unknown action', bytes: withPlain('consent-grant-with-rewrap', grant, { ...grant.plain, action: 'delegate' }), code: 'INVALID_FIELD', field: 'plain.action' },
  {
    name: 'rewrapped key of 47 bytes',
    bytes: withPlain('consent-grant-with-rewrap', grant, { ...grant.plain, rewrap: { ...grant.plain.rewrap, keys: [{ ...grant.plain.rewrap.keys[0], wrap: grant.plain.rewrap.keys[0].wrap.subarray(1) }] } }),
    code: 'INVALID_FIELD',
    field: 'plain.rewrap.keys.0.wrap'
  },
  { name: 'revoke with an until', bytes: withPlain('consent-revoke', grant, { action: 'revoke', examiner: 'city-lab', until: grant.plain.until }), code: 'INVALID_FIELD', field: 'plain.until' },
  { name: 'erasure entries not increasing', bytes: withPlain('erasure', erasure, { entries: [3, 2] }), code: 'INVALID_FIELD', field: 'plain.entries' },
  { name: 'erasure of the genesis', bytes: withPlain('erasure', erasure, { entries: [0, 2] }), code: 'INVALID_FIELD', field: 'plain.entries.0' },
  // Registry blocks: canonical CBOR maps { v, type, id, time, plain, sig }.
  { name: 'registry: oversized', decoder: 'registry', bytes: unhex(registryCases[1]!.bytes), padTo: MAX_REGISTRY_ENTRY_BYTES + 1, code: 'TOO_LARGE' },
  { name: 'registry: map keys out of order', decoder: 'registry', bytes: craftEncode(reversedKeys(admit)), code: 'MALFORMED' },
  { name: 'registry: non-minimal integer', decoder: 'registry', bytes: craftEncode({ ...(sortKeysCanonically(admit) as Record<string, unknown>), v: craft.uint(1, 1) }), code: 'MALFORMED' },
  { name: 'registry: trailing bytes', decoder: 'registry', bytes: Uint8Array.from([...unhex(registryCases[1]!.bytes), 0]), code: 'MALFORMED' },
  { name: 'registry: an array', decoder: 'registry', bytes: encodeCanonical([1, 'admit']), code: 'MALFORMED' },
  { name: 'registry: unknown type', decoder: 'registry', bytes: encodeCanonical({ ...admit, type: 'expel' }), code: 'UNKNOWN_TYPE', field: 'type' },
  { name: 'registry: user-chain type', decoder: 'registry', bytes: encodeCanonical({ ...admit, type: 'exam' }), code: 'UNKNOWN_TYPE', field: 'type' },
  { name: 'registry: unsupported version', decoder: 'registry', bytes: encodeCanonical({ ...admit, v: 2 }), code: 'UNSUPPORTED_VERSION', field: 'v' },
  { name: 'registry: missing version', decoder: 'registry', bytes: encodeCanonical(without(admit, 'v')), code: 'UNSUPPORTED_VERSION', field: 'v' },
  { name: 'registry: admit with role user', decoder: 'registry', bytes: encodeCanonical({ ...admit, plain: { ...admit.plain, role: 'user' } }), code: 'INVALID_FIELD', field: 'plain.role' },
  { name: 'registry: admit without a box key', decoder: 'registry', bytes: encodeCanonical({ ...admit, plain: without(admit.plain, 'box') }), code: 'INVALID_FIELD', field: 'plain.box' },
  { name: 'registry: institution id with capitals', decoder: 'registry', bytes: encodeCanonical({ ...admit, plain: { ...admit.plain, institution: 'City-Lab' } }), code: 'INVALID_FIELD', field: 'plain.institution' },
  { name: 'registry: peer id that is not base58btc', decoder: 'registry', bytes: encodeCanonical({ ...admit, plain: { ...admit.plain, peer: '0'.repeat(40) } }), code: 'INVALID_FIELD', field: 'plain.peer' },
  { name: 'registry: extra top-level field', decoder: 'registry', bytes: encodeCanonical({ ...admit, reg: 1 }), code: 'INVALID_FIELD', field: 'reg' },
  { name: 'registry: missing signature', decoder: 'registry', bytes: encodeCanonical(without(admit, 'sig')), code: 'INVALID_FIELD', field: 'sig' }
]

const rejectsFile: RejectsFile = {
  description: 'Blocks that decodeEntry (decoder "entry") or decodeRegistryEntry (decoder "registry") must refuse, with the CoreError code ' +
    '(and field, when given). Where padTo is given, hex is followed by zero bytes up to that total length. ' +
    'Each is a valid block of entries.json or registry.json with one thing changed; entry blocks are [v, body, sig] as in entries.json.',
  cases: rejects.map(({ bytes, decoder, ...rest }) => ({ name: rest.name, decoder: decoder ?? 'entry', hex: hex(bytes), ...without(rest, 'name') }) as RejectCase)
}

write('keys.json', keysFile)
write('parties.json', partiesFile)
write('registry.json', registryFile)
write('entries.json', entriesFile)
write('rejects.json', rejectsFile)
write('custody.json', computeCustodyFile(crypto))
