/** The refusal codes: one list, decoded strictly (an unknown code is UNKNOWN_REFUSAL, a malformed one is refused). */
import { describe, expect, it } from 'vitest'
import { CoreError, encodeCanonical } from '@healthchain/core'
import { LEDGER_ERROR_CODES, LedgerError } from '@healthchain/ledger'
import { NET_ERROR_CODES, NetError } from '../src/errors.js'
import { REFUSAL_CODES, isRefusalCode, refusalOf } from '../src/refusals.js'
import { decodeAppendResponse, encodeAppendResponse } from '../src/wire/append.js'
import { decodeMyChainResponse } from '../src/wire/my-chain.js'

describe('refusal codes', () => {
  it('hold every ledger, core and net code and the protocol ones, each once', () => {
    expect(new Set(REFUSAL_CODES).size).toBe(REFUSAL_CODES.length)
    for (const code of [...LEDGER_ERROR_CODES, ...NET_ERROR_CODES, 'NOT_ADMITTED', 'INTERNAL', 'UNKNOWN_REFUSAL']) expect(isRefusalCode(code), code).toBe(true)
    expect(isRefusalCode('NOT_A_CODE')).toBe(false)
    expect(isRefusalCode(7)).toBe(false)
  })

  it('a known code round-trips; an unknown one decodes as UNKNOWN_REFUSAL with its message kept', () => {
    const refused = { v: 1 as const, ok: false as const, code: 'STALE_POSITION' as const, message: 'stale', length: 3 }
    expect(decodeAppendResponse(encodeAppendResponse(refused))).toEqual(refused)
    const newer = encodeCanonical({ v: 1, ok: false, code: 'SOME_FUTURE_CODE', message: 'from a newer build' })
    expect(decodeAppendResponse(newer)).toEqual({ v: 1, ok: false, code: 'UNKNOWN_REFUSAL', message: 'from a newer build' })
    expect(decodeMyChainResponse(newer)).toEqual({ v: 1, ok: false, code: 'UNKNOWN_REFUSAL', message: 'from a newer build' })
  })

  it('a code that is not code-shaped is still refused as INVALID_FIELD', () => {
    let caught: unknown
    try { decodeAppendResponse(encodeCanonical({ v: 1, ok: false, code: 'lower case', message: 'm' })) } catch (err) { caught = err }
    expect(caught).toBeInstanceOf(NetError)
    expect((caught as NetError).code).toBe('INVALID_FIELD')
    expect((caught as NetError).field).toBe('code')
  })

  it('refusalOf answers a stable error with its code and anything else with INTERNAL', () => {
    expect(refusalOf(new LedgerError('STALE_POSITION', 'stale'), 'x', 100)).toMatchObject({ code: 'STALE_POSITION', message: 'stale' })
    expect(refusalOf(new CoreError('BAD_SIGNATURE', 'bad'), 'x', 100)).toMatchObject({ code: 'BAD_SIGNATURE' })
    expect(refusalOf(new NetError('TOO_LARGE', 'big'), 'x', 100)).toMatchObject({ code: 'TOO_LARGE' })
    const impostor = Object.assign(new Error('secret'), { name: 'LedgerError', code: 'CLOSED' })
    expect(refusalOf(impostor, 'fixed', 100)).toMatchObject({ code: 'INTERNAL', message: 'fixed' })
  })
})
