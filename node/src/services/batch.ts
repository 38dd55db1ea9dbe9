/**
 * Batch writes as a service, knowing nothing of HTTP: many exams for many
 * users in one call (a list of items, or a FHIR transaction Bundle of
 * Observations). Not atomic: each item is parsed, checked and written
 * exactly as a single write (ChainService.writeExam: units, chain held
 * here or its custodian reached, consent and recipients, role rules in the
 * append), and answered on its own; one refused item leaves the others
 * written. Items for one chain land in the same append batches (the
 * chain's queue groups concurrent appends), so a batch costs one write per
 * chain touched rather than one per item.
 *
 *   items ──parse each──► refused items answered now
 *         ──same id twice for one user──► the later ones DUPLICATE_ENTRY
 *         ──writeExam, up to CONCURRENCY at once──► { seq, id, duplicate } | the error
 */
import { bytesToHex, parseUserId, type UserId } from '@healthchain/core'
import { LedgerError } from '@healthchain/ledger'
import { batchItemSchema } from '../api/batch.js'
import { NodeError } from '../errors.js'
import { parseTransaction, type TransactionEntry } from '../fhir/transaction.js'
import { examFromFhir, type ValueSegment } from '../fhir/to-exam.js'
import { validateFhir } from '../fhir/validate.js'
import { describeIssue, summariseIssues } from '../zod-issues.js'
import type { ChainService, ExamInput } from './chains.js'

export interface BatchComponents {
  readonly chains: Pick<ChainService, 'writeExam'>
}

export interface BatchInit {
  /** Items one batch may hold (config `api.batchMaxItems`); more: PAYLOAD_TOO_LARGE for the whole request, nothing written. */
  readonly maxItems: number
}

/** One item's outcome: written (or found written: a retry), or refused with the error as thrown (the caller maps it). */
export type ItemOutcome =
  | { readonly index: number, readonly user: UserId, readonly ok: true, readonly seq: number, readonly id: string, readonly duplicate: boolean }
  | { readonly index: number, readonly user?: UserId, readonly ok: false, readonly error: unknown }

export interface BatchService {
  /** Writes each of `items` ({ user, type: 'exam', plain, sealed?, id? }); the outcomes in the items' order. */
  write (items: readonly unknown[]): Promise<ItemOutcome[]>
  /** Writes each Observation entry of a FHIR `transaction` (or `batch`) Bundle as one exam of the Patient it names. */
  fhirTransaction (bundle: unknown, values: ValueSegment): Promise<{ readonly type: 'transaction' | 'batch', readonly outcomes: ItemOutcome[] }>
}

/** Items written at once: enough to fill the sealing workers and the chains' append batches, few enough to bound memory. */
const CONCURRENCY = 128

interface Parsed { readonly index: number, readonly user: UserId, readonly exam: ExamInput, readonly fieldPrefix: string }

export function createBatchService (components: BatchComponents, init: BatchInit): BatchService {
  const { chains } = components

  const checkCount = (count: number, what: string): void => {
    if (count > init.maxItems) {
      throw new NodeError('PAYLOAD_TOO_LARGE', `${count} ${what}: this node takes at most ${init.maxItems} in one request (api.batchMaxItems); split it`)
    }
  }

  /** Writes the parsed items; refusals already decided stay in `outcomes` at their index. */
  const run = async (parsed: readonly Parsed[], outcomes: ItemOutcome[]): Promise<ItemOutcome[]> => {
    // The same id twice for one user in one request: the first is written, the others refused (they would race for it).
    // An id is unique within a chain, so other users' items may carry it too, as they may in writes of their own.
    const firstOf = new Map<string, number>()
    const todo: Parsed[] = []
    for (const item of parsed) {
      const id = item.exam.id === undefined ? undefined : `${item.user}/${bytesToHex(item.exam.id)}`
      const first = id === undefined ? undefined : firstOf.get(id)
      if (first !== undefined) {
        outcomes[item.index] = {
          index: item.index, user: item.user, ok: false, error: new LedgerError('DUPLICATE_ENTRY', `id also given to item ${first} of this request`)
        }
        continue
      }
      if (id !== undefined) firstOf.set(id, item.index)
      todo.push(item)
    }
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        const item = todo[next++]!
        try {
          const reply = await chains.writeExam(item.user, item.exam, item.fieldPrefix)
          outcomes[item.index] = { index: item.index, user: item.user, ok: true, ...reply }
        } catch (error) {
          outcomes[item.index] = { index: item.index, user: item.user, ok: false, error }
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, todo.length) }, worker))
    return outcomes
  }

  return {
    async write (items) {
      checkCount(items.length, 'items')
      const outcomes: ItemOutcome[] = new Array(items.length)
      const parsed: Parsed[] = []
      items.forEach((raw, index) => {
        const fieldPrefix = `body.items.${index}.`
        const result = batchItemSchema.safeParse(raw)
        if (!result.success) {
          const summary = summariseIssues(result.error, ['body', 'items', index])
          const user = userOf(raw)
          outcomes[index] = { index, ...(user === undefined ? {} : { user }), ok: false, error: new NodeError('BAD_REQUEST', describeIssue(summary), { field: summary.field }) }
          return
        }
        const { user, type, plain, sealed, id } = result.data
        if (type !== 'exam') {
          const error = new NodeError('FORBIDDEN', `an examiner writes exam entries only, not ${JSON.stringify(type.slice(0, 20))}`, { field: `${fieldPrefix}type` })
          outcomes[index] = { index, user, ok: false, error }
          return
        }
        const exam: ExamInput = { plain, ...(sealed === undefined ? {} : { sealed }), ...(id === undefined ? {} : { id: Buffer.from(id, 'hex') }) }
        parsed.push({ index, user, exam, fieldPrefix })
      })
      return await run(parsed, outcomes)
    },

    async fhirTransaction (bundle, values) {
      const transaction = parseTransaction(bundle)
      checkCount(transaction.entries.length, 'entries')
      const outcomes: ItemOutcome[] = new Array(transaction.entries.length)
      const parsed: Parsed[] = []
      transaction.entries.forEach((entry, index) => {
        try {
          parsed.push({ index, user: entryUser(entry), exam: examOfEntry(entry, values), fieldPrefix: `entry.${index}.` })
        } catch (error) {
          outcomes[index] = { index, ...(entry.user === undefined ? {} : { user: entry.user }), ok: false, error }
        }
      })
      return { type: transaction.type, outcomes: await run(parsed, outcomes) }
    }
  }
}

function entryUser (entry: TransactionEntry): UserId {
  if (entry.problem !== undefined) throw entry.problem
  return entry.user!
}

function examOfEntry (entry: TransactionEntry, values: ValueSegment): ExamInput {
  const exam = examFromFhir(validateFhir(entry.resource), values)
  return { ...exam, ...(entry.id === undefined ? {} : { id: entry.id }) }
}

/** The user an unparsable item names, if it names a valid one (for its answer and audit line). */
function userOf (raw: unknown): UserId | undefined {
  const user = (raw as { user?: unknown } | null)?.user
  if (typeof user !== 'string') return undefined
  try {
    return parseUserId(user)
  } catch {
    return undefined
  }
}
