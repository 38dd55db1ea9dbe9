/**
 * Who holds the user's chain, as this device knows it (PhoneClient.status):
 * the custodian its verified chain names (the genesis's, then each
 * migrate's `to`), that institution's standing in the registry the device
 * holds, the generation of the user's keys in force (0, then one per
 * rekey), and a pending governance reassignment of the custodian — the
 * notice the user has to move first.
 */
import type { InstitutionId, UserId } from '@healthchain/core'
import type { Ledger } from '@healthchain/ledger'

export interface CustodyStatus {
  readonly custodian: InstitutionId | undefined
  /** The custodian's status in the registry this device holds ('active', 'suspended', …); undefined when not known. */
  readonly custodianStatus: string | undefined
  readonly generation: number | undefined
  /** Governance hands the chain to `to` from `after` on (epoch ms) unless the user moves first or the custodian is reinstated. */
  readonly reassignment: { readonly to: InstitutionId, readonly after: number } | undefined
}

export async function custodyOf (ledger: Ledger, user: UserId): Promise<CustodyStatus> {
  const chainUser = ledger.hasChain(user) ? (await ledger.chain(user)).user : undefined
  const custodian = chainUser?.custodian
  if (custodian === undefined || !ledger.hasRegistry) {
    return { custodian, custodianStatus: undefined, generation: chainUser?.generation, reassignment: undefined }
  }
  const state = ledger.registry.state
  const pending = state.reassignmentOf(custodian)
  return {
    custodian,
    custodianStatus: state.institutionAt(custodian)?.status,
    generation: chainUser?.generation,
    reassignment: pending === undefined ? undefined : { to: pending.to, after: pending.after }
  }
}

/** The warning in words, or undefined when none is pending. */
export function reassignmentWarning (custody: CustodyStatus): string | undefined {
  const { custodian, reassignment } = custody
  if (custodian === undefined || reassignment === undefined) return undefined
  const standing = custody.custodianStatus === undefined ? '' : ` is ${custody.custodianStatus}`
  return `${custodian}${standing}; unless you move, governance hands your chain to ${reassignment.to} after ${new Date(reassignment.after).toISOString()}`
}
