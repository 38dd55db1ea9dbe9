/** Assertions on CoreError codes (core/testing's expectCode, for CoreError), and the providers tests run under. */
import { CoreError, nobleProvider, type CryptoProvider } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { expectCodeOf } from '@healthchain/core/testing'

/** Every CryptoProvider the project ships; provider-dependent tests run under each. */
export const PROVIDERS: readonly CryptoProvider[] = [nobleProvider, sodiumProvider]

/** Runs `fn` (or awaits a promise), which must throw a CoreError with `code` (and `field`, when given); returns the error. */
export const expectCode = expectCodeOf(CoreError)
