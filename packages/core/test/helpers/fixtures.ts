/**
 * A small world for unit tests: a user, three examiners, a chain, and signed
 * entries built with fixed inputs. Keys are derived from labels, so every run
 * (and every provider) sees the same bytes.
 */
import {
  buildExam, buildGenesis, signEntry, userKeysFromPhrase,
  type CryptoProvider, type Entry, type ExamPlain, type ExamSealed, type InstitutionId, type PartyKeys, type UserKeys
} from '@healthchain/core'
import { deterministicCrypto, fixedBytes } from './deterministic-crypto.js'

export const PHRASE = 'legal winner thank year wave sausage worth useful legal winner thank yellow'
export const T0 = Date.UTC(2024, 5, 1, 8, 0, 0)

export interface World {
  crypto: CryptoProvider
  user: UserKeys
  examiners: Record<'a' | 'b' | 'c', PartyKeys & { id: InstitutionId }>
  chainKey: Uint8Array
  otherChainKey: Uint8Array
}

export function institution (label: string, crypto: CryptoProvider): PartyKeys & { id: InstitutionId } {
  const boxSecret = fixedBytes(`fixture/${label}/box`)
  return {
    id: label as InstitutionId,
    sign: crypto.signKeyPairFromSeed(fixedBytes(`fixture/${label}/sign`)),
    box: { secretKey: boxSecret, publicKey: crypto.x25519PublicKey(boxSecret) }
  }
}

export function world (base: CryptoProvider, seed = 'fixture'): World {
  const crypto = deterministicCrypto(base, seed)
  return {
    crypto,
    user: userKeysFromPhrase(PHRASE, crypto),
    examiners: { a: institution('examiner-a', crypto), b: institution('examiner-b', crypto), c: institution('examiner-c', crypto) },
    chainKey: fixedBytes('fixture/chain'),
    otherChainKey: fixedBytes('fixture/other-chain')
  }
}

export const EXAM_PLAIN: ExamPlain = {
  title: 'Check-up',
  observations: [
    { code: '8480-6', value: 121, unit: 'mm[Hg]', low: 90, high: 140 },
    { code: '29463-7', value: 70.25, unit: 'kg' }
  ]
}
export const EXAM_SEALED: ExamSealed = {
  observations: [{ code: '4548-4', value: 5.4, unit: '%' }],
  notes: 'Nothing of note.'
}

export function signedGenesis (w: World): Entry {
  return signEntry(buildGenesis(w.user, w.examiners.a.id, { time: T0 }, w.crypto), { chainKey: w.chainKey, seq: 0 }, w.user.sign.secretKey, w.crypto)
}

/** An exam by examiner a at `seq`, sealed for the user, examiner a and examiner b. */
export function signedExam (w: World, seq = 1, overrides: { id?: Uint8Array, sealed?: ExamSealed, recipients?: Uint8Array[] } = {}): Entry {
  const unsigned = buildExam({
    author: w.examiners.a.id,
    reg: 4,
    time: T0 + seq * 60_000,
    plain: EXAM_PLAIN,
    sealed: overrides.sealed ?? EXAM_SEALED,
    recipients: overrides.recipients ?? [w.user.box.publicKey, w.examiners.a.box.publicKey, w.examiners.b.box.publicKey],
    chainKey: w.chainKey,
    ...(overrides.id === undefined ? {} : { id: overrides.id })
  }, w.crypto)
  return signEntry(unsigned, { chainKey: w.chainKey, seq }, w.examiners.a.sign.secretKey, w.crypto)
}
