/**
 * What the registry's Hypercore commits to besides its signer: the
 * governance public key.
 *
 * The host node appends the registry's blocks with a key pair of its own (a
 * named core in its store), so its key pair authorises nothing; only the
 * governance signature in each block does. That leaves the question a joining
 * node must answer before it trusts block 0: which governance key? The core
 * key answers it. The core is created with a Hypercore manifest (version 2)
 * whose `userData` is
 *
 *   "healthchain/v1/registry-core" 0x00 || governance public key (32)
 *
 * and a Hypercore key is the hash of its manifest, so the registry key every
 * node's config names also names the governance key: a host cannot pair the
 * registry key with a "governance" key of its own making. Hypercore checks the
 * manifest against the key when it arrives; the ledger then reads the
 * governance key from it with `governanceKeyOfRegistryCore`, and block 0 must
 * name the same key (`RegistryState`).
 */
import { assertBytes, concatBytes, domainTag, equal } from './bytes.js'
import { CoreError } from './errors.js'

export const REGISTRY_CORE_DOMAIN = 'healthchain/v1/registry-core'
const REGISTRY_CORE_DOMAIN_BYTES = domainTag(REGISTRY_CORE_DOMAIN)
/** The Hypercore manifest version whose `userData` carries the binding. */
export const REGISTRY_MANIFEST_VERSION = 2

/** The manifest `userData` that binds a registry core to `governanceKey`. */
export function registryCoreUserData (governanceKey: Uint8Array): Uint8Array {
  assertBytes(governanceKey, 32, 'governanceKey')
  return concatBytes(REGISTRY_CORE_DOMAIN_BYTES, governanceKey)
}

/**
 * The governance key a registry core's manifest `userData` commits to.
 * BAD_REGISTRY_CORE for anything else (no user data, another domain, a wrong
 * length): such a core is not a registry this version accepts, whatever its
 * blocks say.
 */
export function governanceKeyOfRegistryCore (userData: Uint8Array | null | undefined): Uint8Array {
  const prefix = REGISTRY_CORE_DOMAIN_BYTES.length
  if (!(userData instanceof Uint8Array) || userData.length !== prefix + 32 || !equal(userData.subarray(0, prefix), REGISTRY_CORE_DOMAIN_BYTES)) {
    throw new CoreError('BAD_REGISTRY_CORE', 'the registry core does not commit to a governance key (its manifest lacks the registry binding)')
  }
  return Uint8Array.from(userData.subarray(prefix))
}
