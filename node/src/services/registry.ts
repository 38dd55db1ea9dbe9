/**
 * The consortium registry as this node has it (with each institution's key
 * history, so a reader can check entries signed before a rotation, and the
 * reassignments of suspended custodians' chains in force), and the one write it takes:
 * an entry the governance key signed elsewhere, appended by the node whose
 * store hosts the registry (RegistryFeed.appendSigned checks the signature,
 * its position and the transition rules).
 */
import { bytesToHex, decodeRegistryEntry, equal, type InstitutionRecord } from '@healthchain/core'
import type { Ledger } from '@healthchain/ledger'
import type { RegistryAppendReply, RegistryReply } from '../api/node.js'
import { toJson } from './entry-view.js'

const DAY_MS = 86_400_000

export interface RegistryComponents {
  readonly ledger: Pick<Ledger, 'registry'>
}

export interface RegistryService {
  view (): RegistryReply
  /** Appends an encoded, governance-signed registry entry. */
  append (encoded: Uint8Array): Promise<RegistryAppendReply>
}

export function createRegistryService (components: RegistryComponents): RegistryService {
  const { ledger } = components
  return {
    view () {
      const registry = ledger.registry
      return {
        key: bytesToHex(registry.key),
        length: registry.length,
        writable: registry.core.writable,
        institutions: registry.state.institutions().map((r) => ({
          id: r.id,
          name: r.name,
          role: r.role,
          status: r.status,
          peer: r.peer ?? null,
          addrs: [...r.addrs],
          sign: bytesToHex(r.sign),
          box: bytesToHex(r.box),
          since: r.since,
          keys: keyHistory(registry.state.historyOf(r.id))
        })),
        noticeDays: registry.state.noticePeriod / DAY_MS,
        reassignments: registry.state.reassignments().map((r) => ({ institution: r.institution, to: r.to, after: r.after, since: r.since }))
      }
    },
    async append (encoded) {
      const entry = decodeRegistryEntry(encoded)
      const seq = ledger.registry.length
      await ledger.registry.appendSigned(entry)
      return { seq, type: entry.type, plain: toJson(entry.plain) }
    }
  }
}

/** The key pairs an institution has had, oldest first, each with the registry position that listed it (suspensions do not count). */
function keyHistory (history: readonly InstitutionRecord[]): Array<{ sign: string, box: string, since: number }> {
  const out: Array<{ sign: string, box: string, since: number }> = []
  let last: InstitutionRecord | undefined
  for (const record of history) {
    if (last === undefined || !equal(last.sign, record.sign) || !equal(last.box, record.box)) {
      out.push({ sign: bytesToHex(record.sign), box: bytesToHex(record.box), since: record.since })
    }
    last = record
  }
  return out
}
