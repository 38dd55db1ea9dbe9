/**
 * Hand-written declarations for the parts of hypercore-crypto 3.7.0 that healthchain uses
 * (CommonJS, without types of its own), checked against its installed index.js.
 *
 * Import as `import crypto from 'hypercore-crypto'` (or named: `import { sign } from 'hypercore-crypto'`).
 */

declare module 'hypercore-crypto' {
  import Hypercore from 'hypercore'

  /** New Ed25519 key pair (libsodium), deterministic from a 32-byte seed if given. */
  export function keyPair (seed?: Uint8Array): Hypercore.KeyPair
  /** Whether secretKey's embedded public key equals publicKey. */
  export function validateKeyPair (keyPair: { publicKey: Uint8Array; secretKey: Uint8Array }): boolean
  /** 64-byte detached Ed25519 signature (libsodium). */
  export function sign (message: Uint8Array, secretKey: Uint8Array): Buffer
  /** libsodium detached verify; false (no throw) on wrong sizes. */
  export function verify (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean
  /** BLAKE2b-256 keyed with "hypercore" of a 32-byte core key; throws on other sizes. */
  export function discoveryKey (key: Uint8Array): Buffer
  /** `n` random bytes (libsodium). */
  export function randomBytes (n: number): Buffer
  /** BLAKE2b-256 of one buffer or the concatenation of several. */
  export function hash (data: Uint8Array | Uint8Array[], out?: Uint8Array): Buffer
  /** Leaf hash of a block: BLAKE2b(0x00 ‖ u64le len ‖ data). */
  export function data (block: Uint8Array): Buffer
  /** Parent hash of two tree nodes. */
  export function parent (
    a: { readonly index: number; readonly size: number; readonly hash: Uint8Array },
    b: { readonly index: number; readonly size: number; readonly hash: Uint8Array }
  ): Buffer
  /** Tree hash of the Merkle roots: BLAKE2b(0x02 ‖ (hash ‖ u64le index ‖ u64le size)*). */
  export function tree (roots: ReadonlyArray<{ readonly index: number; readonly size: number; readonly hash: Uint8Array }>, out?: Uint8Array): Buffer
  /** `count` 32-byte namespace ids derived from a name. */
  export function namespace (name: string | Uint8Array, count: number | number[]): Buffer[]

  /** The CommonJS `module.exports` object (ESM default import); the functions are also named exports. */
  const HypercoreCrypto: {
    keyPair: typeof keyPair
    validateKeyPair: typeof validateKeyPair
    sign: typeof sign
    verify: typeof verify
    discoveryKey: typeof discoveryKey
    randomBytes: typeof randomBytes
    hash: typeof hash
    data: typeof data
    parent: typeof parent
    tree: typeof tree
    namespace: typeof namespace
  }
  export default HypercoreCrypto
}
