/**
 * The crypto every browser-side step uses: core's portable provider
 * (@noble/curves, @noble/ciphers, @noble/hashes), which verifies Ed25519
 * the way libsodium does, so the browser accepts exactly what the nodes do.
 */
import { nobleProvider } from '@healthchain/core'

export const crypto = nobleProvider
