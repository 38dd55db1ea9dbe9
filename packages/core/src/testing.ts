/**
 * Test helpers shared by every package's tests (`@healthchain/core/testing`;
 * never imported by a package's sources). Tests branch on an error's `code`
 * (and `field`), never on its message.
 */
import { expect } from 'vitest'
import { HealthchainError } from './errors.js'

type ErrorClass<E extends HealthchainError> = abstract new (...args: any[]) => E

export interface ExpectCode<E extends HealthchainError> {
  /** Awaits `work`, which must reject with an E of `code` (and `field`, when given); resolves to the error. */
  (work: Promise<unknown>, code: E['code'], field?: string): Promise<E>
  /** Runs `work`, which must throw an E of `code` (and `field`, when given); returns the error. */
  (work: () => unknown, code: E['code'], field?: string): E
}

/**
 * The expectCode of one error class: the thrown error must be an instance of
 * `type` (a LedgerError, not just any error with that code) with `code`.
 */
export function expectCodeOf<E extends HealthchainError> (type: ErrorClass<E>): ExpectCode<E> {
  const check = (threw: boolean, thrown: unknown, code: string, field: string | undefined): E => {
    if (!threw) expect.fail(`expected ${type.name} ${code}, but nothing was thrown`)
    expect(thrown, `expected ${type.name} ${code}, got ${String(thrown)}`).toBeInstanceOf(type)
    const err = thrown as E
    expect({ code: err.code, field: field === undefined ? undefined : err.field }).toEqual({ code, field })
    return err
  }
  function expectCode (work: Promise<unknown> | (() => unknown), code: string, field?: string): E | Promise<E> {
    if (typeof work !== 'function') {
      return work.then(
        () => check(false, undefined, code, field),
        (err: unknown) => check(true, err, code, field)
      )
    }
    try {
      work()
    } catch (err) {
      return check(true, err, code, field)
    }
    return check(false, undefined, code, field)
  }
  return expectCode as ExpectCode<E>
}

/** expectCode for any package's error (the class is not checked, only that it is one of ours). */
export const expectCode: ExpectCode<HealthchainError> = expectCodeOf(HealthchainError)
