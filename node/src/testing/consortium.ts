/**
 * The node level of the consortium harness, first half: a consortium laid
 * out in node data directories, as daemons (and `healthchain dev`) read it.
 * Each institution's keys are created in (or read from) its data directory;
 * the governance key is kept in a file of its own, apart from every data
 * directory; then the ledger level (`@healthchain/ledger/testing`) creates
 * the registry in the host's store and admits them all, and closes the
 * store again so the host's daemon can open it.
 */
import { type CryptoProvider, type InstitutionId, type InstitutionRole, type PartyKeys } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { LedgerConsortium, type Institution } from '@healthchain/ledger/testing'
import { dataDirLayout, loadOrCreateNodeKeys, prepareDataDir, readOrCreatePartyKeys } from '../index.js'

export interface NodePartySpec {
  readonly id: string
  readonly role: InstitutionRole
  /** Its display name in the registry (default: the id). */
  readonly name?: string
  /** The libp2p addresses the registry lists for it (multiaddrs without /p2p). */
  readonly addrs?: readonly string[]
}

export interface PreparedConsortium {
  readonly registryKey: Uint8Array
  readonly governance: PartyKeys
  /** Each institution's libp2p peer id, as admitted. */
  readonly peers: Map<InstitutionId, string>
}

export interface PrepareConsortiumInit {
  /** Every institution, in order; the first hosts the registry. */
  readonly parties: readonly NodePartySpec[]
  /** An institution's data directory. */
  readonly dataDirOf: (id: string) => string
  /** The governance key file (created owner-only, or read if it exists). */
  readonly governanceKeyPath: string
  /** The consortium's name in the registry. */
  readonly name: string
  readonly crypto?: CryptoProvider
}

/** Creates the keys, the registry and every admission in node data directories (nothing runs afterwards). */
export async function prepareConsortium (init: PrepareConsortiumInit): Promise<PreparedConsortium> {
  const crypto = init.crypto ?? sodiumProvider
  const { keys: governance } = await readOrCreatePartyKeys(init.governanceKeyPath, crypto)
  const parties: Institution[] = []
  for (const spec of init.parties) {
    const layout = await prepareDataDir(init.dataDirOf(spec.id))
    const keys = await loadOrCreateNodeKeys(layout.keys, crypto)
    parties.push({
      id: spec.id as InstitutionId,
      role: spec.role,
      keys: keys.institution,
      peer: keys.peerId,
      ...(spec.name === undefined ? {} : { name: spec.name }),
      ...(spec.addrs === undefined || spec.addrs.length === 0 ? {} : { addrs: spec.addrs })
    })
  }
  const consortium = await LedgerConsortium.create({
    parties,
    name: init.name,
    governance,
    dir: init.dataDirOf(parties[0]!.id),
    ledgerDir: (id) => dataDirLayout(init.dataDirOf(id)).store,
    ledger: { crypto, verifyWorkers: 0 }
  })
  const registryKey = consortium.registryKey
  await consortium.close()
  return { registryKey, governance, peers: new Map(parties.map((p) => [p.id, p.peer!])) }
}
