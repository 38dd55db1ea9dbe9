/**
 * An error's class does not cross a worker thread, only its fields: the
 * worker side sends a healthchain error's code and field (worker-serve.ts),
 * and reviveByCode rebuilds it as the pool's class by code.
 */
import { describe, expect, it } from 'vitest'
import { CORE_ERROR_CODES, CoreError } from '@healthchain/core'
import { LEDGER_ERROR_CODES, LedgerError, reviveByCode } from '../src/index.js'

describe('reviveByCode', () => {
  const asLedger = reviveByCode('verification', LEDGER_ERROR_CODES, (code, message, opts) => new LedgerError(code, message, opts))
  const asCore = reviveByCode('sealing', CORE_ERROR_CODES, (code, message, opts) => new CoreError(code, message, opts))

  it('rebuilds a failure with a code of the pool\'s family as that class, with its code, field and message', () => {
    const ledger = asLedger({ name: 'CoreError', message: 'sig', code: 'BAD_SIGNATURE', field: 'sig' })
    expect(ledger).toBeInstanceOf(LedgerError)
    expect(ledger).toMatchObject({ code: 'BAD_SIGNATURE', field: 'sig', message: 'sig' })
    const core = asCore({ name: 'CoreError', message: 'key', code: 'BAD_KEY', field: 'recipient' })
    expect(core).toBeInstanceOf(CoreError)
    expect(core).toMatchObject({ code: 'BAD_KEY', field: 'recipient' })
  })

  it('anything else is a plain Error naming the pool, whatever its name says', () => {
    const failures = [
      { name: 'TypeError', message: 'boom' }, { name: 'CoreError', message: 'x', code: 'NOT_A_CODE' }, { name: 'LedgerError', message: 'x', code: 'CLOSED' }
    ]
    for (const failure of failures) {
      const err = asCore(failure)
      expect(err).not.toBeInstanceOf(CoreError)
      expect(err.message).toBe(`sealing worker failed: ${failure.message}`)
    }
  })
})
