/**
 * Appending a governance entry to the registry, the two ways:
 *
 *   offline  the host node is stopped: open its store and append, signed
 *            with the governance key (RegistryFeed.append)
 *   online   the host node runs: read its registry's key and length
 *            (GET /v1/registry), sign the entry for that position here,
 *            and send it (POST /v1/registry); the key never leaves this
 *            machine. If another entry got that position first, re-sign.
 */
import { existsSync } from 'node:fs'
import {
  bytesToHex, encodeRegistryEntry, fromHex, type PartyKeys, type RegistryEntryType, type RegistryPlainByType
} from '@healthchain/core'
import { Ledger, LedgerError, readPartyKeys } from '@healthchain/ledger'
import { registryAppendReplySchema } from '../api/node.js'
import { signRegistryEntryFor } from '../consortium.js'
import { dataDirLayout } from '../data-dir.js'
import type { ApiClient } from './api-client.js'
import { ApiError, CliError } from './errors.js'

const ONLINE_ATTEMPTS = 3
const DAY_MS = 86_400_000

export interface RegistryAppend {
  readonly seq: number
  readonly type: RegistryEntryType
  /** Registry length after the append. */
  readonly length: number
}

/**
 * An entry's plain segment, or how to make it from the registry it is
 * appended to (its notice period, in ms): a reassignment's default `after`
 * depends on the consortium's.
 */
export type PlainFor<T extends RegistryEntryType> = RegistryPlainByType[T] | ((registry: { noticePeriod: number }) => RegistryPlainByType[T])

function plainOf<T extends RegistryEntryType> (plain: PlainFor<T>, noticePeriod: number): RegistryPlainByType[T] {
  return typeof plain === 'function' ? plain({ noticePeriod }) : plain
}

/** The governance key pair from its file (never created here: a missing file is an error). */
export async function readGovernanceKey (path: string): Promise<PartyKeys> {
  if (!existsSync(path)) throw new CliError('BAD_FILE', `no governance key file at ${path} (it is created by \`healthchain consortium create\`)`)
  return await readPartyKeys(path)
}

export async function appendOffline<T extends RegistryEntryType> (
  hostDir: string, type: T, plain: PlainFor<T>, governance: PartyKeys
): Promise<RegistryAppend> {
  const layout = dataDirLayout(hostDir)
  if (!existsSync(layout.store)) throw new CliError('NOT_A_DATA_DIR', `${hostDir} is not a node data directory (no store/)`)
  let ledger: Ledger
  try {
    ledger = await Ledger.open({ dir: layout.store, verifyWorkers: 0 })
  } catch (err) {
    if (err instanceof LedgerError && err.code === 'STORE_LOCKED') {
      throw new CliError('STORE_LOCKED', `the host node using ${hostDir} is running: send the entry to it with --api <its API URL> instead of --host-dir`, { cause: err })
    }
    throw err
  }
  try {
    if (!ledger.hasRegistry) throw new CliError('BAD_REGISTRY', `${hostDir} holds no registry: create one with \`healthchain consortium create\``)
    const seq = ledger.registry.length
    await ledger.registry.append(type, plainOf(plain, ledger.registry.state.noticePeriod), governance.sign)
    return { seq, type, length: ledger.registry.length }
  } finally {
    await ledger.close()
  }
}

export async function appendOnline<T extends RegistryEntryType> (
  api: ApiClient, type: T, plain: PlainFor<T>, governance: PartyKeys
): Promise<RegistryAppend> {
  for (let attempt = 1; ; attempt++) {
    const registry = await api.registry()
    if (!registry.writable) {
      throw new CliError('NOT_CUSTODIAN', `${api.url} does not host the registry: send governance entries to the node the consortium was created in`)
    }
    const entry = signRegistryEntryFor(type, plainOf(plain, registry.noticeDays * DAY_MS), fromHex(registry.key, 32, 'key'), registry.length, governance)
    try {
      const reply = await api.request('POST', '/v1/registry', registryAppendReplySchema, { body: { entry: bytesToHex(encodeRegistryEntry(entry)) } })
      return { seq: reply.seq, type, length: reply.seq + 1 }
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'BAD_SIGNATURE')) throw err
      // Signed for a position another entry took meanwhile: sign again. Same length: the key is not the governance key.
      const now = await api.registry()
      if (now.length === registry.length) {
        throw new CliError('BAD_SIGNATURE', 'the host refused the governance signature: is --governance-key this consortium\'s governance key?', { cause: err })
      }
      if (attempt >= ONLINE_ATTEMPTS) throw err
    }
  }
}
