/**
 * A patient's history across institutions, newest first: every entry's
 * plain part, and the sealed part where the node opened it for this
 * hospital (else a badge saying it is sealed for others).
 */
import type { JSX } from 'preact'
import type { EntryViewReply } from '@healthchain/node/api'
import { Badge, formatDate, formatDateTime } from '../ui/components.js'
import { displayOf, examCode } from './loinc.js'

interface ObservationView {
  readonly code: string
  readonly value: number | string
  readonly unit?: string
  readonly low?: number
  readonly high?: number
  readonly time?: number
}

const TYPE_LABEL: Record<EntryViewReply['type'], string> = {
  genesis: 'Enrolment', exam: 'Exam', exercise: 'Exercise', location: 'Location', consent: 'Consent', erasure: 'Erasure', migrate: 'Custody moved', rekey: 'Keys renewed'
}

export function authorName (author: string, me: string): string {
  if (author === 'user') return 'the patient'
  return author === me ? `${author} (us)` : author
}

function observationsOf (value: unknown): ObservationView[] {
  if (value === null || typeof value !== 'object') return []
  const list = (value as { observations?: unknown }).observations
  if (!Array.isArray(list)) return []
  return list.filter((o): o is ObservationView => o !== null && typeof o === 'object' && typeof (o as ObservationView).code === 'string')
}

function outOfRange (o: ObservationView): boolean {
  if (typeof o.value !== 'number') return false
  const table = examCode(o.code)
  const low = o.low ?? (o.unit === table?.units[0] ? table?.low : undefined)
  const high = o.high ?? (o.unit === table?.units[0] ? table?.high : undefined)
  return (low !== undefined && o.value < low) || (high !== undefined && o.value > high)
}

export function Observations (props: { list: readonly ObservationView[], sealed?: boolean }): JSX.Element {
  return (
    <ul class='obs-values'>
      {props.list.map((o, i) => {
        const out = outOfRange(o)
        return (
          <li key={i} data-testid={props.sealed === true ? 'sealed-observation' : 'observation'}>
            {displayOf(o.code)}: <strong class={out ? 'out-of-range' : ''}>{String(o.value)}{o.unit === undefined ? '' : ` ${o.unit}`}</strong>
            {out && <> <Badge kind='bad'>out of range</Badge></>}
            {(o.low !== undefined || o.high !== undefined) && <span class='muted'> (range {o.low ?? '–'}–{o.high ?? ''})</span>}
            {o.time !== undefined && <span class='muted'> · {formatDate(o.time)}</span>}
          </li>
        )
      })}
    </ul>
  )
}

function Sealed (props: { entry: EntryViewReply }): JSX.Element | null {
  const sealed = props.entry.sealed
  if (sealed === undefined) return null
  if (!sealed.readable) return <p><Badge kind='muted'>sealed</Badge> <span class='muted'>A sealed part this hospital may not read.</span></p>
  const notes = (sealed.data as { notes?: unknown } | null)?.notes
  const list = observationsOf(sealed.data)
  return (
    <div class='sealed-open' data-testid='sealed-open'>
      <p><Badge kind='ok'>sealed, readable by us</Badge></p>
      {list.length > 0 && <Observations list={list} sealed />}
      {typeof notes === 'string' && <p class='notes'>Notes: {notes}</p>}
      {list.length === 0 && typeof notes !== 'string' && <p class='muted'>Nothing else is sealed in this exam.</p>}
    </div>
  )
}

function Body (props: { entry: EntryViewReply }): JSX.Element {
  const { entry } = props
  const plain = entry.plain as Record<string, unknown> | null
  switch (entry.type) {
    case 'exam':
      return (
        <>
          {typeof plain?.title === 'string' && <p><strong>{plain.title}</strong></p>}
          <Observations list={observationsOf(plain)} />
          <Sealed entry={entry} />
        </>
      )
    case 'exercise':
      return <Observations list={observationsOf(plain)} />
    case 'location': {
      const points = Array.isArray(plain?.points) ? plain.points.length : 0
      return <p class='muted'>{points} location point{points === 1 ? '' : 's'} recorded by the patient's phone.</p>
    }
    case 'consent': {
      const until = typeof plain?.until === 'number' ? `, until ${formatDate(plain.until)}` : ''
      return plain?.action === 'grant'
        ? <p>The patient allowed <strong>{String(plain.examiner)}</strong> to read their sealed results{until}.</p>
        : <p>The patient withdrew <strong>{String(plain?.examiner)}</strong>'s access to their sealed results.</p>
    }
    case 'erasure':
      return <p>The patient asked for entries {Array.isArray(plain?.entries) ? plain.entries.map((s) => `#${String(s)}`).join(', ') : ''} to be erased.</p>
    default:
      return <p class='muted'>Enrolled.</p>
  }
}

export function History (props: { entries: readonly EntryViewReply[], me: string }): JSX.Element {
  if (props.entries.length === 0) {
    return <p class='muted' data-testid='history-empty'>Nothing recorded yet, only the enrolment. Enter an exam to start the history.</p>
  }
  return (
    <ol class='timeline' data-testid='history'>
      {[...props.entries].sort((a, b) => b.seq - a.seq).map((entry) => (
        <li key={entry.seq} data-testid='history-entry' data-type={entry.type}>
          <div class='row'>
            <Badge kind='muted'>#{entry.seq}</Badge>
            <strong>{TYPE_LABEL[entry.type]}</strong>
            <span class='muted'>{formatDateTime(entry.time)} · by {authorName(entry.author, props.me)}</span>
          </div>
          <Body entry={entry} />
        </li>
      ))}
    </ol>
  )
}
