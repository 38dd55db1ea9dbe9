/**
 * Setting up a consortium, offline (with the node that hosts the registry
 * stopped, since a store has one writer):
 *
 *   createConsortium   governance key file (0600) + the registry, created in
 *                      the host node's store; the registry key is what every
 *                      other node's config names
 *   admitInstitution   a registry `admit` for an institution's node, from the
 *                      keys in its data directory (institution.json, p2p.json)
 *   signRegistryEntry  the same entry signed for the next position, for a
 *                      running host (POST /v1/registry)
 *
 * The host's store never gets the governance secret: the registry core is
 * appended with the store's own key pair and bound to the governance
 * *public* key (see the ledger's registry-feed.ts); entries are signed here,
 * in memory, with the key read from its file, which stays apart from every
 * data directory.
 */
import { join } from 'node:path'
import {
  REGISTRY_VERSION, newEntryId, signRegistryEntry as signEntry,
  type CryptoProvider, type InstitutionId, type InstitutionRole, type PartyKeys, type RegistryEntry, type RegistryPlainByType
} from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { Ledger } from '@healthchain/ledger'
import { prepareDataDir } from './data-dir.js'
import { loadOrCreateNodeKeys, readOrCreatePartyKeys } from './node-keys.js'

export interface InstitutionSpec {
  readonly id: InstitutionId
  readonly name?: string
  readonly role: InstitutionRole
  /** The institution node's data directory: its keys are read (created if missing). */
  readonly dataDir: string
  /** Addresses other nodes dial it on (multiaddrs without /p2p). */
  readonly addrs?: readonly string[]
}

export function governanceKeyFile (dir: string): string { return join(dir, 'governance.json') }

/**
 * Creates the governance key (written to `governanceKeyPath`, owner-only,
 * unless it exists: then it is used) and the registry in the host node's
 * data directory. Returns the registry's Hypercore key (what nodes' configs name) and the governance keys.
 */
export async function createConsortium (
  opts: { hostDataDir: string, governanceKeyPath: string, name: string, institution: InstitutionId, crypto?: CryptoProvider }
): Promise<{ registryKey: Uint8Array, governance: PartyKeys }> {
  const crypto = opts.crypto ?? sodiumProvider
  const { keys: governance } = await readOrCreatePartyKeys(opts.governanceKeyPath, crypto)
  let registryKey: Uint8Array | undefined
  await withHostLedger(opts.hostDataDir, opts.institution, async (ledger) => {
    registryKey = (await ledger.createRegistry(governance.sign, opts.name)).key
  }, crypto)
  return { registryKey: registryKey!, governance }
}

/** Admits institutions (offline, in the host's data directory); returns their peer ids by institution id. */
export async function admitInstitutions (
  opts: { hostDataDir: string, host: InstitutionId, governance: PartyKeys, institutions: readonly InstitutionSpec[], crypto?: CryptoProvider }
): Promise<Map<InstitutionId, string>> {
  const crypto = opts.crypto ?? sodiumProvider
  const peers = new Map<InstitutionId, string>()
  await withHostLedger(opts.hostDataDir, opts.host, async (ledger) => {
    for (const spec of opts.institutions) {
      const plain = await admissionOf(spec, crypto)
      peers.set(spec.id, plain.peer!)
      await ledger.registry.append('admit', plain, opts.governance.sign)
    }
  }, crypto)
  return peers
}

/** The `admit` body for an institution, from the keys in its data directory (created there if missing). */
export async function admissionOf (spec: InstitutionSpec, crypto: CryptoProvider = sodiumProvider): Promise<RegistryPlainByType['admit']> {
  const layout = await prepareDataDir(spec.dataDir)
  const keys = await loadOrCreateNodeKeys(layout.keys, crypto)
  return {
    institution: spec.id,
    name: spec.name ?? spec.id,
    role: spec.role,
    sign: keys.institution.sign.publicKey,
    box: keys.institution.box.publicKey,
    peer: keys.peerId,
    ...(spec.addrs === undefined || spec.addrs.length === 0 ? {} : { addrs: [...spec.addrs] })
  }
}

/** A registry entry signed by the governance key for `registry`'s position `seq` (to send to a running host). */
export function signRegistryEntryFor<T extends keyof RegistryPlainByType> (
  type: T, plain: RegistryPlainByType[T], registryKey: Uint8Array, seq: number, governance: PartyKeys, crypto: CryptoProvider = sodiumProvider
): RegistryEntry {
  const unsigned = { v: REGISTRY_VERSION as 1, type, id: newEntryId(crypto), time: Date.now(), plain } as Parameters<typeof signEntry>[0]
  return signEntry(unsigned, { chainKey: registryKey, seq }, governance.sign.secretKey, crypto)
}

async function withHostLedger (dataDir: string, institution: InstitutionId, work: (ledger: Ledger) => Promise<void>, crypto: CryptoProvider): Promise<void> {
  const layout = await prepareDataDir(dataDir)
  const ledger = await Ledger.open({ dir: layout.store, institution, crypto, verifyWorkers: 0 })
  try {
    await work(ledger)
  } finally {
    await ledger.close()
  }
}
