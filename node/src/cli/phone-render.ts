/** How `healthchain phone` prints what the client returns, as text (the --json output carries everything). */
import { measureOfCode, type ExerciseMeasure, type FlushResult, type TimelineItem, type WriteResult, type WrittenEntry } from '@healthchain/client'
import { toJsonText } from './output.js'

export function stoppedOf (flush: FlushResult): { code: string, message: string } | undefined {
  return flush.stopped === undefined ? undefined : { code: flush.stopped.code, message: flush.stopped.message }
}

export function stoppedText (flush: FlushResult): string {
  return flush.stopped === undefined ? '' : ` (sending stopped: ${flush.stopped.code})`
}

export function tally (entries: readonly WrittenEntry[]): { sent: number, queued: number, failed: number } {
  return {
    sent: entries.filter((e) => e.state === 'sent').length,
    queued: entries.filter((e) => e.state === 'queued').length,
    failed: entries.filter((e) => e.state === 'failed').length
  }
}

export function writtenText (written: WriteResult): string {
  const { sent, queued, failed } = tally(written.entries)
  const parts: string[] = []
  if (sent > 0) {
    const seqs = written.entries.flatMap((e) => e.seq === undefined ? [] : [e.seq])
    parts.push(`${sent} sent (position${seqs.length === 1 ? '' : 's'} ${seqs.length > 3 ? `${seqs[0]!}–${seqs.at(-1)!}` : seqs.join(', ')})`)
  }
  if (queued > 0) parts.push(`${queued} kept on this device${written.flush.stopped === undefined ? '' : ` (${written.flush.stopped.code})`}, sent by a later \`phone sync\``)
  if (failed > 0) parts.push(`${failed} refused for good (${[...new Set(written.entries.flatMap((e) => e.remoteCode === undefined ? [] : [e.remoteCode]))].join(', ')}): see \`phone status\``)
  return parts.join('; ')
}

function when (ms: number): string {
  return new Date(ms).toISOString().replace(/:\d\d\.\d{3}Z$/, 'Z').replace('T', ' ')
}

/** Names people read for the exercise measures (the JSON output keeps the LOINC codes). */
const MEASURE_LABELS: Readonly<Record<ExerciseMeasure, string>> = { steps: 'steps', distance: 'distance', activeEnergy: 'active energy', heartRate: 'heart rate' }

function observationText (o: { code: string, value: number | string, unit?: string | undefined }): string {
  const measure = measureOfCode(o.code)
  // UCUM's annotations ({steps}) are for machines.
  const unit = (o.unit ?? '').replace(/^\{.*\}$/, '')
  return `${measure === undefined ? o.code : MEASURE_LABELS[measure]} ${String(o.value)}${unit === '' ? '' : ` ${unit}`}`
}

/** One timeline item as a line or two of text (the JSON output carries everything). */
export function renderItem (item: TimelineItem): string[] {
  const head = `  #${String(item.seq).padEnd(4)} ${when(item.time)}  ${item.type.padEnd(8)}  by ${item.author.padEnd(12)}`
  switch (item.type) {
    case 'exam': {
      const lines = [`${head}  ${item.plain.title ?? '(untitled)'}${item.plain.observations.length === 0 ? '' : `: ${item.plain.observations.map(observationText).join(', ')}`}`]
      if (item.sealed !== undefined) lines.push(`         sealed (opened on this device): ${compact(item.sealed)}`)
      else if (item.sealedError !== undefined) lines.push(`         sealed: cannot be opened (${item.sealedError})`)
      return lines
    }
    case 'exercise':
      return [`${head}  ${when(item.plain.start)} to ${when(item.plain.end)}: ${item.plain.observations.map(observationText).join(', ')}`]
    case 'location': {
      const times = item.plain.points.map((p) => p.time)
      return [`${head}  ${item.plain.points.length} point${item.plain.points.length === 1 ? '' : 's'}, ${when(Math.min(...times))} to ${when(Math.max(...times))}`]
    }
    case 'consent':
      return [`${head}  ${item.plain.action} ${item.plain.examiner}${item.plain.action === 'grant' && item.plain.until !== undefined ? ` until ${when(item.plain.until)}` : ''}${item.plain.action === 'grant' && item.plain.rewrap !== undefined ? ` (${item.plain.rewrap.keys.length} past key${item.plain.rewrap.keys.length === 1 ? '' : 's'} re-wrapped)` : ''}`]
    case 'erasure':
      return [`${head}  erases #${item.plain.entries.join(', #')}`]
    case 'genesis':
      return [`${head}  custodian ${item.plain.custodian}`]
    case 'migrate':
      return [`${head}  custody moves to ${item.plain.to} after #${item.plain.length - 1}`]
    case 'rekey':
      return [`${head}  the user's keys of generation ${item.plain.generation} come into force`]
  }
}

function compact (value: unknown): string {
  const text = toJsonText(value).replace(/\s*\n\s*/g, ' ')
  return text.length > 200 ? `${text.slice(0, 197)}...` : text
}
