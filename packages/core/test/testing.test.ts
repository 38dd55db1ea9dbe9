/** The shared expectCode: passes only for an error of the class, the code and (when given) the field. */
import { describe, expect, it } from 'vitest'
import { CoreError, HealthchainError } from '@healthchain/core'
import { expectCode, expectCodeOf } from '@healthchain/core/testing'

class OtherError extends HealthchainError<'MALFORMED'> {}

const fails = async (run: () => unknown): Promise<void> => {
  let failed = false
  try { await run() } catch { failed = true }
  expect(failed).toBe(true)
}

describe('expectCode', () => {
  const expectCore = expectCodeOf(CoreError)
  const throwing = (): never => { throw new CoreError('INVALID_FIELD', 'm', { field: 'plain.x' }) }

  it('returns the error thrown or rejected with the class, code and field', async () => {
    expect(expectCore(throwing, 'INVALID_FIELD').field).toBe('plain.x')
    expect(expectCore(throwing, 'INVALID_FIELD', 'plain.x')).toBeInstanceOf(CoreError)
    expect((await expectCore(Promise.reject(new CoreError('MALFORMED', 'm')), 'MALFORMED')).code).toBe('MALFORMED')
    expect(expectCode(() => { throw new OtherError('MALFORMED', 'm') }, 'MALFORMED')).toBeInstanceOf(OtherError)
  })

  it('fails for another code, another field, another class, a plain Error with the code, or nothing thrown', async () => {
    await fails(() => expectCore(throwing, 'MALFORMED'))
    await fails(() => expectCore(throwing, 'INVALID_FIELD', 'plain.y'))
    await fails(() => expectCore(() => { throw new OtherError('MALFORMED', 'm') }, 'MALFORMED'))
    await fails(() => expectCode(() => { throw Object.assign(new Error('m'), { code: 'MALFORMED' }) }, 'MALFORMED'))
    await fails(() => expectCore(() => undefined, 'MALFORMED'))
    await fails(async () => await expectCore(Promise.resolve(1), 'MALFORMED'))
  })
})
