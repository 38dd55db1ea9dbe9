/**
 * Where audit lines go: the node's AuditLog itself, or the AuditAggregator
 * in front of it (audit-aggregator.ts), which writes most lines at once and
 * counts repeated refusals of callers who proved no identity. The HTTP
 * audit hook and the network's login audit both write through this.
 */
import type { AuditLineInput } from './audit-line.js'

export interface AuditAppendOptions {
  /**
   * Set for a refusal of a caller that proved no identity: no valid token,
   * a refused login, a refused connection. Such refusals may be counted
   * into one line with others from the same source. `answered` is the code
   * the caller was told; it is what they are grouped by, so a reason the
   * caller is not told (a user login refused as UNKNOWN_USER, answered
   * LOGIN_REFUSED) cannot be told apart by whether its line was written.
   */
  readonly unauthenticatedRefusal?: { readonly answered: string }
}

export interface AuditSink {
  /**
   * Writes `line`, or counts it into an aggregate line written later;
   * resolves once it is stored (with its position) or counted (undefined).
   * Rejects if it cannot be written: the caller must not then report
   * success.
   */
  append (line: AuditLineInput, opts?: AuditAppendOptions): Promise<number | undefined>
}
