/**
 * The verified mark a replica keeps beside each chain: its layout, fixed by
 * known-answer bytes, and the marks that must count as "nothing verified".
 */
import { describe, expect, it } from 'vitest'
import { bytesToHex } from '@healthchain/core'
import { decodeVerifiedMark, encodeVerifiedMark } from '../src/verified-mark.js'

const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'))

describe('the verified mark', () => {
  it('has a fixed layout: version 1, then fork and length as 64-bit big-endian', () => {
    expect(bytesToHex(encodeVerifiedMark({ fork: 0, length: 0 }))).toBe('01' + '00'.repeat(16))
    expect(bytesToHex(encodeVerifiedMark({ fork: 2, length: 300 }))).toBe('01' + '0000000000000002' + '000000000000012c')
    expect(bytesToHex(encodeVerifiedMark({ fork: 0, length: Number.MAX_SAFE_INTEGER }))).toBe('01' + '0000000000000000' + '001fffffffffffff')
    expect(decodeVerifiedMark(fromHex('01' + '0000000000000002' + '000000000000012c'))).toEqual({ fork: 2, length: 300 })
  })

  it('round-trips any safe fork and length', () => {
    for (const mark of [{ fork: 0, length: 1 }, { fork: 7, length: 123_456_789 }, { fork: 2 ** 40, length: 2 ** 52 }]) {
      expect(decodeVerifiedMark(encodeVerifiedMark(mark))).toEqual(mark)
    }
  })

  it('reads as no mark when missing, of another size or version, or beyond safe integers', () => {
    const rejects: Array<[string, Uint8Array | null | undefined]> = [
      ['missing', null],
      ['undefined', undefined],
      ['empty', new Uint8Array(0)],
      ['one byte short', fromHex('01' + '00'.repeat(15))],
      ['one byte long', fromHex('01' + '00'.repeat(17))],
      ['version 0', fromHex('00' + '00'.repeat(16))],
      ['version 2', fromHex('02' + '00'.repeat(16))],
      ['length past 2^53 - 1', fromHex('01' + '0000000000000000' + '0020000000000000')],
      ['fork past 2^53 - 1', fromHex('01' + 'ffffffffffffffff' + '0000000000000001')]
    ]
    for (const [what, bytes] of rejects) expect(decodeVerifiedMark(bytes), what).toBeUndefined()
  })

  it('refuses to encode what it could not read back', () => {
    for (const mark of [{ fork: -1, length: 0 }, { fork: 0, length: 1.5 }, { fork: 0, length: 2 ** 53 }]) {
      expect(() => encodeVerifiedMark(mark)).toThrow(RangeError)
    }
  })
})
