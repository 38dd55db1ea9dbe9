/** Assertions on CoreError codes: tests branch on `code` (and `field`), never on message text. */
import { expect } from 'vitest'
import { CoreError, nobleProvider, type CoreErrorCode, type CryptoProvider } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'

/** Every CryptoProvider the project ships; provider-dependent tests run under each. */
export const PROVIDERS: readonly CryptoProvider[] = [nobleProvider, sodiumProvider]

/** Runs `fn`, which must throw a CoreError with `code` (and `field`, when given); returns the error. */
export function expectCode (fn: () => unknown, code: CoreErrorCode, field?: string): CoreError {
  let thrown: unknown
  try {
    fn()
  } catch (err) {
    thrown = err
  }
  if (thrown === undefined) expect.fail(`expected CoreError ${code}, but nothing was thrown`)
  expect(thrown).toBeInstanceOf(CoreError)
  const err = thrown as CoreError
  expect({ code: err.code, field: field === undefined ? undefined : err.field }).toEqual({ code, field })
  return err
}
