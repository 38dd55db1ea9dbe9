/** An examiner's exam write as the API takes it, and entry ids a caller chooses, for the retry tests. */
import { bytesToHex } from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'

/** `{ type: 'exam', plain, sealed }`: a blood pressure of `value`, and sealed notes. */
export function examBody (value: number, notes = 'fasting'): { type: 'exam', plain: object, sealed: object } {
  return { type: 'exam', plain: { title: 'check-up', observations: [{ code: '8480-6', value, unit: 'mm[Hg]' }] }, sealed: { notes } }
}

/** A fresh entry id as a caller sends it: 16 random bytes, hex. */
export function newEntryIdHex (): string {
  return bytesToHex(crypto.randomBytes(16))
}
