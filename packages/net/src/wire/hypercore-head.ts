/**
 * What a signed head needs from Hypercore (11.37.1, pinned by the root
 * package.json's override), in one place:
 *
 * - `treeSignable(key, root, length, fork)` from `hypercore/lib/caps.js`: the
 *   112 bytes a custodian's head signature covers,
 *   TREE namespace (32) ‖ core key (32) ‖ tree hash (32) ‖ u64le length ‖ u64le fork;
 * - `Hypercore.key(signer)`: the core key of a single-signer (version 1)
 *   manifest, which is what Corestore makes for a named core — so a head's
 *   signer is bound to its chain key without any lookup;
 * - `rawHeadSignature`: the stored head signature (`core.state.signature`,
 *   internal) is hypercore's multisig encoding; for one signer the raw
 *   Ed25519 signature is bytes [2, 66).
 *
 * packages/ledger/src/tree-audit.ts reads the same internals; the
 * ledger's tree-audit test fails first if an upgrade moves them.
 */
import { createRequire } from 'node:module'
import Hypercore from 'hypercore'

const require = createRequire(import.meta.url)
const caps = require('hypercore/lib/caps.js') as {
  treeSignable (manifestHash: Uint8Array, treeHash: Uint8Array, length: number, fork: number): Uint8Array
}

/** The bytes a Hypercore head signature covers. */
export function treeSignable (key: Uint8Array, root: Uint8Array, length: number, fork: number): Uint8Array {
  return new Uint8Array(caps.treeSignable(key, root, length, fork))
}

/** The key of the core whose manifest has `signer` as its one (version 1, default-namespace) signer. */
export function coreKeyOfSigner (signer: Uint8Array): Uint8Array {
  return new Uint8Array(Hypercore.key(signer))
}

/** The raw Ed25519 signature inside hypercore's multisig encoding of one signer (bytes [2, 66)), copied. */
export function rawHeadSignature (encoded: Uint8Array | null | undefined): Uint8Array | null {
  if (encoded === null || encoded === undefined || encoded.length < 66) return null
  // A copy, never a view: `encoded` is a Buffer (whose slice() does not copy) that hypercore may reuse.
  return new Uint8Array(encoded.subarray(2, 66))
}

/** A core's head as stored, read synchronously so later appends cannot race it. */
export interface StoredHead {
  readonly key: Uint8Array
  readonly signer: Uint8Array
  readonly length: number
  readonly fork: number
  readonly sig: Uint8Array
}

/** The stored head of an open core, or null when it has none (empty, no manifest yet, or no stored signature). */
export function storedHead (core: Hypercore): StoredHead | null {
  const signer = core.manifest?.signers[0]?.publicKey
  const sig = rawHeadSignature(core.state?.signature)
  if (core.key === null || signer === undefined || sig === null || core.length === 0) return null
  return { key: new Uint8Array(core.key), signer: new Uint8Array(signer), length: core.length, fork: core.fork, sig }
}

/** Tree hash at `length` from local tree nodes only (never waits for a peer). */
export async function storedTreeHash (core: Hypercore, length: number): Promise<Uint8Array> {
  return new Uint8Array(await Hypercore.treeHashFromStorage(core, length))
}
