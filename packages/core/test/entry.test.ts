/**
 * The entry model: builders, validation with codes and fields, size limits,
 * and encode/decode round trips.
 */
import { describe, expect, it } from 'vitest'
import {
  buildErasure, buildGenesis, buildRevoke, buildUserEntry, decodeEntry, encodeEntry, ENTRY_AUTHORS, ENTRY_TYPES, isUserAuthored,
  MAX_ENTRY_BYTES, MAX_TIME, MIN_TIME, nobleProvider, parseEntry, parseUnsignedEntry, signEntry,
  type Entry, type InstitutionId, type LocationPlain
} from '@healthchain/core'
import { deterministicStream } from './helpers/deterministic-crypto.js'
import { expectCode } from './helpers/expect-code.js'
import { signedExam, signedGenesis, T0, world } from './helpers/fixtures.js'

const w = world(nobleProvider, 'entry')
const exam = signedExam(w, 1)
const genesis = signedGenesis(w)
const exercise = signEntry(
  buildUserEntry('exercise', { start: T0, end: T0 + 3_600_000, observations: [{ code: '55423-8', value: 5000, unit: '{steps}' }] }, { time: T0 + 3_600_000 }, w.crypto),
  { chainKey: w.chainKey, seq: 2 }, w.user.sign.secretKey, w.crypto
)
const slot = (seq: number) => ({ chainKey: w.chainKey, seq })

type Mutable = Record<string, any>
const mutate = (entry: Entry, change: (e: Mutable) => void): unknown => {
  const copy = structuredClone(entry) as Mutable
  change(copy)
  return copy
}

describe('parseEntry refuses with a code and the offending field', () => {
  const cases: Array<[string, () => unknown, string, string | undefined]> = [
    ['null', () => null, 'MALFORMED', undefined],
    ['an array', () => [exam], 'MALFORMED', undefined],
    ['a string', () => 'entry', 'MALFORMED', undefined],
    ['version 2', () => mutate(exam, (e) => { e.v = 2 }), 'UNSUPPORTED_VERSION', 'v'],
    ['version "1"', () => mutate(exam, (e) => { e.v = '1' }), 'UNSUPPORTED_VERSION', 'v'],
    ['no version', () => mutate(exam, (e) => { delete e.v }), 'UNSUPPORTED_VERSION', 'v'],
    ['unknown type', () => mutate(exam, (e) => { e.type = 'prescription' }), 'UNKNOWN_TYPE', 'type'],
    ['registry type', () => mutate(exam, (e) => { e.type = 'admit' }), 'UNKNOWN_TYPE', 'type'],
    ['no type', () => mutate(exam, (e) => { delete e.type }), 'UNKNOWN_TYPE', 'type'],
    ['extra field', () => mutate(exam, (e) => { e.comment = 'hi' }), 'INVALID_FIELD', 'comment'],
    ['missing id', () => mutate(exam, (e) => { delete e.id }), 'INVALID_FIELD', 'id'],
    ['id as hex text', () => mutate(exam, (e) => { e.id = '00'.repeat(16) }), 'INVALID_FIELD', 'id'],
    ['time in seconds', () => mutate(exam, (e) => { e.time = Math.floor(T0 / 1000) }), 'INVALID_FIELD', 'time'],
    ['time past 2200', () => mutate(exam, (e) => { e.time = MAX_TIME + 1 }), 'INVALID_FIELD', 'time'],
    ['missing sig', () => mutate(exam, (e) => { delete e.sig }), 'INVALID_FIELD', 'sig'],
    ['empty author', () => mutate(exam, (e) => { e.author = '' }), 'INVALID_FIELD', 'author'],
    ['exam by the user', () => mutate(exam, (e) => { e.author = 'user'; delete e.reg }), 'INVALID_FIELD', 'author'],
    ['exam by a malformed institution id', () => mutate(exam, (e) => { e.author = 'St Mary' }), 'INVALID_FIELD', 'author'],
    ['exam without reg', () => mutate(exam, (e) => { delete e.reg }), 'INVALID_FIELD', 'reg'],
    ['exam with a negative reg', () => mutate(exam, (e) => { e.reg = -1 }), 'INVALID_FIELD', 'reg'],
    ['exam without sealed', () => mutate(exam, (e) => { delete e.sealed }), 'INVALID_FIELD', 'sealed'],
    ['user entry with reg', () => mutate(exercise, (e) => { e.reg = 3 }), 'INVALID_FIELD', 'reg'],
    ['user entry by an institution', () => mutate(exercise, (e) => { e.author = 'examiner-a' }), 'INVALID_FIELD', 'author'],
    ['user entry with sealed', () => mutate(exercise, (e) => { e.sealed = exam.sealed }), 'INVALID_FIELD', 'sealed'],
    ['observation code', () => mutate(exam, (e) => { e.plain.observations[0].code = 'LOINC' }), 'INVALID_FIELD', 'plain.observations.0.code'],
    ['second observation value NaN', () => mutate(exam, (e) => { e.plain.observations[1].value = Number.NaN }), 'INVALID_FIELD', 'plain.observations.1.value'],
    ['observation value an object', () => mutate(exam, (e) => { e.plain.observations[0].value = { v: 1 } }), 'INVALID_FIELD', 'plain.observations.0.value'],
    ['observation extra key', () => mutate(exam, (e) => { e.plain.observations[0].interpretation = 'H' }), 'INVALID_FIELD', 'plain.observations.0.interpretation'],
    ['observation time before 2000', () => mutate(exam, (e) => { e.plain.observations[0].time = MIN_TIME - 1 }), 'INVALID_FIELD', 'plain.observations.0.time'],
    ['65 observations in plain', () => mutate(exam, (e) => { e.plain.observations = Array(65).fill(e.plain.observations[0]) }), 'INVALID_FIELD', 'plain.observations'],
    ['title too long', () => mutate(exam, (e) => { e.plain.title = 'x'.repeat(201) }), 'INVALID_FIELD', 'plain.title'],
    ['title with a lone high surrogate', () => mutate(exam, (e) => { e.plain.title = 'BP \ud800' }), 'INVALID_FIELD', 'plain.title'],
    ['text value with a lone low surrogate', () => mutate(exam, (e) => { e.plain.observations[0].value = 'a\udc00b' }), 'INVALID_FIELD', 'plain.observations.0.value'],
    ['plain missing', () => mutate(exam, (e) => { delete e.plain }), 'INVALID_FIELD', 'plain'],
    ['sealed ct under 16 bytes', () => mutate(exam, (e) => { e.sealed.ct = new Uint8Array(15) }), 'INVALID_FIELD', 'sealed.ct'],
    ['sealed recipient key of 31 bytes', () => mutate(exam, (e) => { e.sealed.to[1].key = new Uint8Array(31) }), 'INVALID_FIELD', 'sealed.to.1.key'],
    ['sealed wrap of 32 bytes', () => mutate(exam, (e) => { e.sealed.to[0].wrap = new Uint8Array(32) }), 'INVALID_FIELD', 'sealed.to.0.wrap'],
    ['sealed extra key', () => mutate(exam, (e) => { e.sealed.alg = 'xchacha' }), 'INVALID_FIELD', 'sealed.alg'],
    ['genesis custodian is the user', () => mutate(genesis, (e) => { e.plain.custodian = 'user' }), 'INVALID_FIELD', 'plain.custodian'],
    ['genesis without box key', () => mutate(genesis, (e) => { delete e.plain.user.box }), 'INVALID_FIELD', 'plain.user.box'],
    ['exercise end before start', () => mutate(exercise, (e) => { e.plain.end = e.plain.start - 1 }), 'INVALID_FIELD', 'plain.end'],
    ['exercise time as a float', () => mutate(exercise, (e) => { e.plain.start = T0 + 0.5 }), 'INVALID_FIELD', 'plain.start']
  ]

  it.each(cases)('%s → %s', (_name, make, code, field) => {
    expectCode(() => parseEntry(make()), code as never, field)
  })

  it('the unchanged entries parse (control); a surrogate pair (an emoji) is well-formed text', () => {
    for (const entry of [genesis, exam, exercise]) expect(parseEntry(structuredClone(entry))).toEqual(entry)
    expect(() => parseEntry(mutate(exam, (e) => { e.plain.title = 'BP \ud83d\udc93' }))).not.toThrow()
  })
})

describe('builders validate their input', () => {
  const opts = { time: T0 }
  it('user entries', () => {
    expectCode(() => buildUserEntry('exercise', { start: T0, end: T0, observations: [] }, opts, w.crypto), 'INVALID_FIELD', 'plain.observations')
    expectCode(() => buildUserEntry('location', { points: [{ lat: 0, lon: 181, acc: 1, time: T0 }] }, opts, w.crypto), 'INVALID_FIELD', 'plain.points.0.lon')
    expectCode(() => buildUserEntry('location', { points: [{ lat: 0, lon: 0, acc: -1, time: T0 }] }, opts, w.crypto), 'INVALID_FIELD', 'plain.points.0.acc')
    expectCode(() => buildUserEntry('location', { points: [] }, opts, w.crypto), 'INVALID_FIELD', 'plain.points')
    expectCode(() => buildUserEntry('location', { points: [{ lat: 0, lon: 0, acc: 1, time: T0 }] }, { time: 0 }, w.crypto), 'INVALID_FIELD', 'time')
    expectCode(() => buildUserEntry('location', { points: [{ lat: 0, lon: 0, acc: 1, time: T0 }] }, { id: new Uint8Array(8), time: T0 }, w.crypto), 'INVALID_FIELD', 'id')
  })
  it('genesis, revoke and erasure', () => {
    expectCode(() => buildGenesis(w.user, 'X' as InstitutionId, opts, w.crypto), 'INVALID_FIELD', 'plain.custodian')
    expectCode(() => buildRevoke('user' as InstitutionId, opts, w.crypto), 'INVALID_FIELD', 'plain.examiner')
    expectCode(() => buildErasure([], opts, w.crypto), 'INVALID_FIELD', 'plain.entries')
    expectCode(() => buildErasure([0, 3], opts, w.crypto), 'INVALID_FIELD', 'plain.entries.0')
    expectCode(() => buildErasure([1.5], opts, w.crypto), 'INVALID_FIELD', 'plain.entries.0')
    expect(buildErasure([5, 2, 5, 3], opts, w.crypto).plain).toEqual({ entries: [2, 3, 5] })
  })
  it('a retried write with the same id and time builds the same entry', () => {
    const id = new Uint8Array(16).fill(7)
    const plain: LocationPlain = { points: [{ lat: 1.5, lon: 2.25, acc: 10, time: T0 }] }
    const one = buildUserEntry('location', plain, { id, time: T0 }, w.crypto)
    const two = buildUserEntry('location', structuredClone(plain), { id: id.slice(), time: T0 }, w.crypto)
    expect(encodeEntry(signEntry(one, slot(4), w.user.sign.secretKey, w.crypto))).toEqual(encodeEntry(signEntry(two, slot(4), w.user.sign.secretKey, w.crypto)))
    // Without an id, each build draws a fresh one.
    expect(buildUserEntry('location', plain, { time: T0 }, w.crypto).id).not.toEqual(buildUserEntry('location', plain, { time: T0 }, w.crypto).id)
  })
  it('the user writes every type but exams; institutions write exams, and a migrate when a reassignment lets them', () => {
    expect(ENTRY_TYPES.filter((t) => !isUserAuthored(t))).toEqual(['exam'])
    expect(ENTRY_TYPES.filter((t) => ENTRY_AUTHORS[t] !== 'user')).toEqual(['exam', 'migrate'])
  })
  it('parseUnsignedEntry refuses a signature', () => {
    expectCode(() => parseUnsignedEntry(structuredClone(exam)), 'INVALID_FIELD', 'sig')
  })
})

describe('size limit', () => {
  /** The exam with its ciphertext replaced by `n` bytes: a block whose size we control. */
  const withCt = (n: number) => mutate(exam, (e) => { e.sealed.ct = new Uint8Array(n) }) as Entry
  const overhead = encodeEntry(withCt(100_000)).length - 100_000

  it(`a block of exactly MAX_ENTRY_BYTES (${MAX_ENTRY_BYTES}) encodes and decodes`, () => {
    const bytes = encodeEntry(withCt(MAX_ENTRY_BYTES - overhead))
    expect(bytes.length).toBe(MAX_ENTRY_BYTES)
    expect(decodeEntry(bytes).sealed!.ct.length).toBe(MAX_ENTRY_BYTES - overhead)
  })

  it('one byte more is TOO_LARGE, to encode and to decode', () => {
    expectCode(() => encodeEntry(withCt(MAX_ENTRY_BYTES - overhead + 1)), 'TOO_LARGE')
    const big = new Uint8Array(MAX_ENTRY_BYTES + 1)
    big.set(encodeEntry(exam))
    expectCode(() => decodeEntry(big), 'TOO_LARGE')
  })

  it('TOO_LARGE is decided before parsing: even garbage of that size gets it', () => {
    expectCode(() => decodeEntry(new Uint8Array(10 * MAX_ENTRY_BYTES).fill(0xff)), 'TOO_LARGE')
  })

  it('the largest entries the schemas allow still fit', () => {
    const points = Array.from({ length: 2000 }, (_, i) => ({ lat: -89.123456789 + i / 1e4, lon: 179.987654321 - i / 1e4, acc: 12345.678, time: MAX_TIME - i }))
    const location = signEntry(buildUserEntry('location', { points }, { time: T0 }, w.crypto), slot(3), w.user.sign.secretKey, w.crypto)
    expect(encodeEntry(location).length).toBeLessThanOrEqual(MAX_ENTRY_BYTES)
  })
})

describe('encode/decode round trips', () => {
  const random = deterministicStream('entry/round-trips')
  const u32 = () => new DataView(random(4).buffer).getUint32(0)
  const f64 = (scale: number) => (u32() / 2 ** 32 - 0.5) * 2 * scale

  it('signed entries of every type decode to themselves and re-encode to the same bytes', () => {
    for (const entry of [genesis, exam, exercise]) {
      const bytes = encodeEntry(entry)
      const decoded = decodeEntry(bytes)
      expect(decoded).toEqual(entry)
      expect(encodeEntry(decoded)).toEqual(bytes)
    }
  })

  it('200 random location and exercise entries round-trip', () => {
    for (let i = 0; i < 200; i++) {
      const plain = i % 2 === 0
        ? { points: Array.from({ length: 1 + (u32() % 5) }, () => ({ lat: f64(90), lon: f64(180), acc: Math.abs(f64(1000)), time: T0 + (u32() % 1e9) })) }
        : { start: T0, end: T0 + (u32() % 1e7), observations: [{ code: `${u32() % 99999}-${u32() % 10}`, value: f64(1e6), unit: 'kg', low: u32() % 50, high: f64(1e3) }] }
      const unsigned = buildUserEntry(i % 2 === 0 ? 'location' : 'exercise', plain as never, { time: T0 + i }, w.crypto)
      const entry = signEntry(unsigned, slot(i + 1), w.user.sign.secretKey, w.crypto)
      const decoded = decodeEntry(encodeEntry(entry))
      expect(decoded.plain).toEqual(plain)
      expect(encodeEntry(decoded)).toEqual(encodeEntry(entry))
    }
  })
})
