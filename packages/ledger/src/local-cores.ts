/**
 * The node's local cores, declared in one place: Hypercores of the node's own
 * store that hold its private bookkeeping, are never announced, and are never
 * served to a peer (replication refuses their discovery keys: `isLocalCore`).
 *
 * Each is a named core of the store (its key derives from the store's primary
 * key and the name), opened through `Ledger.localCore(name)` so nothing
 * outside the ledger touches the Corestore.
 *
 * The audit log was once named `audit-log` (without the `local/` prefix).
 * A store that holds a core by that old name keeps using it, so a hospital's
 * audit history survives the rename; only a store without one creates
 * `local/audit-log`.
 */
import type Corestore from 'corestore'
import Hypercore from 'hypercore'
import { bytesToHex } from '@healthchain/core'

export interface LocalCoreDeclaration {
  /** The package (and module) that reads and writes it. */
  readonly owner: string
  /** What it holds. */
  readonly holds: string
  /** A name the core had before; a store holding a core by that name keeps it. */
  readonly formerName?: string
}

export const LOCAL_CORES = {
  'local/catalog': {
    owner: 'ledger (catalog.ts)',
    holds: 'the registry key and, for each chain held here, its user and key'
  },
  'local/erased-leaves': {
    owner: 'ledger (erased-leaves.ts)',
    holds: 'leaf nodes of erased blocks, and how many of them are scrubbed off the disk'
  },
  'local/cosignatures': {
    owner: 'net (witness.ts)',
    holds: 'the heads this node cosigned as a witness, so it never cosigns a conflicting one'
  },
  'local/fork-proofs': {
    owner: 'net (fork-registry.ts)',
    holds: 'fork proofs seen or gossiped: two signed, different roots of one chain'
  },
  'local/outbox': {
    owner: 'client (outbox.ts)',
    holds: 'a phone\'s entries signed and not yet acknowledged by the custodian'
  },
  'local/audit-log': {
    owner: 'node (audit/audit-log.ts)',
    holds: 'the login and access audit lines of this node, signed by the store',
    formerName: 'audit-log'
  }
} as const satisfies Record<string, LocalCoreDeclaration>

export type LocalCoreName = keyof typeof LOCAL_CORES

/** Whatever opens local cores by name: a Ledger, or a bare store (`localCoresOf`). */
export interface LocalCoreSource {
  /** A session of the named local core, ready; the caller closes it (the store stays open). */
  localCore (name: LocalCoreName): Promise<Hypercore>
}

/** Opens a local core of `store`, by its former name if the store holds a core under that name. */
export async function openLocalCore (store: Corestore, name: LocalCoreName): Promise<Hypercore> {
  const declared: LocalCoreDeclaration = LOCAL_CORES[name]
  let stored = name as string
  if (declared.formerName !== undefined && await holdsNamed(store, declared.formerName)) stored = declared.formerName
  const core = store.get({ name: stored, active: false })
  await core.ready()
  return core
}

/** Local cores opened straight on a store: for the ledger while it opens, and for tests of a local core's owner. */
export function localCoresOf (store: Corestore): LocalCoreSource {
  return { localCore: async (name) => await openLocalCore(store, name) }
}

/**
 * The discovery keys (hex) of every local core this store has or could have,
 * under current and former names: replication serves none of them.
 */
export async function localDiscoveryKeys (store: Corestore): Promise<Set<string>> {
  const names = Object.entries(LOCAL_CORES).flatMap(([name, d]: [string, LocalCoreDeclaration]) => d.formerName === undefined ? [name] : [name, d.formerName])
  const keys = new Set<string>()
  for (const name of names) keys.add(bytesToHex(Hypercore.discoveryKey(await keyOfNamed(store, name))))
  return keys
}

async function keyOfNamed (store: Corestore, name: string): Promise<Uint8Array> {
  const keyPair = await store.createKeyPair(name)
  return Hypercore.key(keyPair.publicKey)
}

async function holdsNamed (store: Corestore, name: string): Promise<boolean> {
  return await store.storage.hasCore(Hypercore.discoveryKey(await keyOfNamed(store, name)))
}
