/**
 * Consent as it stands at a point in a chain: which examiners the user has
 * granted (and until when). Folded from the chain's consent entries in order,
 * so verification can ask "was this examiner granted when entry p was written?".
 */
import type { InstitutionId } from './ids.js'
import type { ConsentPlain } from './entry.js'

export interface Grant {
  readonly examiner: InstitutionId
  /** Position of the consent entry that made this grant. */
  readonly since: number
  /** Exclusive end time in ms, if the grant expires. */
  readonly until: number | undefined
}

export class ConsentState {
  private readonly grants = new Map<InstitutionId, Grant>()

  /** Applies the consent entry at position `seq`. */
  apply (entry: { readonly plain: ConsentPlain }, seq: number): void {
    const examiner = entry.plain.examiner as InstitutionId
    if (entry.plain.action === 'revoke') {
      this.grants.delete(examiner)
    } else {
      this.grants.set(examiner, { examiner, since: seq, until: entry.plain.until })
    }
  }

  /** Captures the current grants; calling the result restores them. */
  snapshot (): () => void {
    const saved = new Map(this.grants)
    return () => {
      this.grants.clear()
      for (const [k, v] of saved) this.grants.set(k, v)
    }
  }

  /** Whether `examiner` holds a grant that is in force at time `time`. */
  isGranted (examiner: string, time: number): boolean {
    const grant = this.grants.get(examiner as InstitutionId)
    return grant !== undefined && (grant.until === undefined || time < grant.until)
  }

  /** Grants in force at `time`. */
  active (time: number): Grant[] {
    return [...this.grants.values()].filter((g) => g.until === undefined || time < g.until)
  }
}
