/**
 * The timeline: every entry of the patient's chain, newest first, each
 * checked on this device (its stored bytes, its author's signature), exams
 * with their plain results and their sealed part opened here; erased
 * entries shown as erased; the chain's signed head and its cosignatures
 * checked here too, in one summary line.
 */
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { rangeFor } from '@healthchain/node/api'
import type { Session } from '../session.js'
import { useAsync } from '../ui/async.js'
import { Badge, Card, ErrorNotice, Loaded, Loading, Notice, formatDate, formatDateTime } from '../ui/components.js'
import { loadChain, type CheckedEntry, type PatientChain } from './chain.js'
import { checkHead, loadHead, type HeadCheck } from './head.js'
import { entryTitle, measureName, observationText } from './labels.js'

export function CheckBadge (props: { entry: CheckedEntry }): JSX.Element {
  const { check } = props.entry
  return check.ok
    ? <Badge kind='ok' title={`signed by ${check.signer}`}><span data-testid='check-ok'>✓ signature checked on this device</span></Badge>
    : <Badge kind='bad' title={check.reason}><span data-testid='check-bad'>✗ not verified: {check.reason}</span></Badge>
}

type ShownObservation = {
  code: string, value: number | string, unit?: string | undefined, time?: number | undefined, low?: number | undefined, high?: number | undefined
}

/**
 * "above the normal range (90–120)" when the value is outside its range: the
 * one the exam wrote, else the node's table (as the measurements charts do).
 */
function rangeNote (o: ShownObservation): string | undefined {
  if (typeof o.value !== 'number') return undefined
  const range = rangeFor(o.code, o.unit ?? null, { low: o.low ?? null, high: o.high ?? null })
  if (range === undefined) return undefined
  const text = `${range.low ?? '…'}–${range.high ?? '…'}`
  if (range.high !== undefined && o.value > range.high) return `above the normal range (${text})`
  if (range.low !== undefined && o.value < range.low) return `below the normal range (${text})`
  return undefined
}

function ObservationList (props: { observations: readonly ShownObservation[] }): JSX.Element {
  return (
    <dl class='kv'>
      {props.observations.map((o, i) => [
        <dt key={`t${i}`}>{measureName(o.code)}</dt>,
        <dd key={`d${i}`}>
          <span data-testid='observation' class={rangeNote(o) === undefined ? '' : 'out-of-range'}>{observationText(o)}</span>
          {rangeNote(o) !== undefined && <span class='range-note'> {rangeNote(o)}</span>}
          {o.time !== undefined && <span class='muted'> · measured {formatDate(o.time)}</span>}
        </dd>
      ])}
    </dl>
  )
}

function EntryBody (props: { entry: CheckedEntry }): JSX.Element | null {
  const { entry: checked } = props
  const entry = checked.entry
  if (entry === undefined) return null
  switch (entry.type) {
    case 'exam': {
      const sealed = checked.sealed
      return (
        <>
          {entry.plain.title !== undefined && <p><strong>{entry.plain.title}</strong></p>}
          <ObservationList observations={entry.plain.observations} />
          <div class='sealed' data-testid='sealed'>
            {sealed.state === 'opened'
              ? (
                  <>
                    <Badge kind='ok'>sealed – opened on this device</Badge>
                    {sealed.data.observations !== undefined && <ObservationList observations={sealed.data.observations} />}
                    {sealed.data.notes !== undefined && <p class='notes' data-testid='sealed-notes'>{sealed.data.notes}</p>}
                  </>
                )
              : sealed.state === 'failed' ? <Badge kind='bad' title={sealed.reason}>sealed – could not open: {sealed.reason}</Badge> : null}
          </div>
        </>
      )
    }
    case 'exercise':
      return (
        <>
          <p class='muted'>{formatDateTime(entry.plain.start)} – {formatDateTime(entry.plain.end)}</p>
          <ObservationList observations={entry.plain.observations} />
        </>
      )
    case 'location': {
      const points = entry.plain.points
      return <p class='muted'>{points.length} {points.length === 1 ? 'place' : 'places'} from {formatDateTime(points[0]!.time)} to {formatDateTime(points[points.length - 1]!.time)}</p>
    }
    case 'consent':
      return entry.plain.action === 'grant'
        ? (
            <p class='muted'>
              {entry.plain.until === undefined ? 'Until you withdraw it.' : `Until ${formatDate(entry.plain.until)}.`}
              {entry.plain.rewrap !== undefined && ` Carries the keys of ${entry.plain.rewrap.keys.length} earlier sealed ${entry.plain.rewrap.keys.length === 1 ? 'result' : 'results'}.`}
            </p>
          )
        : null
    case 'erasure':
      return <p class='muted'>Their content is cleared on every node; the chain keeps only a fingerprint of them.</p>
    case 'genesis':
      return <p class='muted'>Your keys were registered here; every entry you write is signed with them.</p>
    case 'migrate':
      return <p class='muted'>The entries before this one were kept at another institution; this one holds them from here on.</p>
    case 'rekey':
      return <p class='muted'>Your entries from here on are signed with your next keys, from the same recovery phrase.</p>
  }
}

/** One entry, or the erased slot it left. */
export function EntryItem (props: { entry: CheckedEntry, erased: boolean }): JSX.Element {
  const { entry, erased } = props
  return (
    <li data-testid='entry' data-type={entry.view.type} data-seq={entry.seq}>
      <div class='row'>
        <strong data-testid='entry-title'>{entryTitle(entry)}</strong>
        <span class='muted'>#{entry.seq} · {formatDateTime(entry.time)} · {entry.view.author === 'user' ? 'you' : entry.view.author}</span>
      </div>
      {erased ? <p data-testid='erased'><Badge kind='muted'>erased</Badge> You asked for this entry to be erased.</p> : <EntryBody entry={entry} />}
      <div class='row'><CheckBadge entry={entry} /></div>
    </li>
  )
}

function ErasedItem (props: { seq: number }): JSX.Element {
  return (
    <li data-testid='entry' data-type='erased' data-seq={props.seq}>
      <div class='row'><strong>Erased entry</strong><span class='muted'>#{props.seq}</span></div>
      <p data-testid='erased'><Badge kind='muted'>erased</Badge> You asked for this entry to be erased: its content is gone from every node.</p>
    </li>
  )
}

export function HeadSummary (props: { check: HeadCheck, custodian: string }): JSX.Element {
  const { check } = props
  if (check.state === 'none') return <Notice kind='info' testId='head-summary'>This node holds no signed head for your chain yet.</Notice>
  if (check.state === 'bad') return <Notice kind='error' testId='head-summary'>The chain head does not check: {check.reason}.</Notice>
  const n = check.witnesses.length
  return (
    <Notice kind={check.cosignedBy.length > 0 || n === 0 ? 'ok' : 'warn'} testId='head-summary'>
      ✓ Chain head #{check.length} signed by {props.custodian}, cosigned by {check.cosignedBy.length} of {n} regulators — checked on this device
    </Notice>
  )
}

function HeadLine (props: { session: Session, chain: PatientChain }): JSX.Element {
  const { chain, session } = props
  const head = useAsync(async () => {
    return checkHead(await loadHead(session, chain.userId), chain.chainKey, chain.length, chain.registry, chain.prologue)
  }, [chain, session.token])
  if (head.status === 'failed') return <ErrorNotice error={head.error} testId='head-error' />
  if (head.data === undefined) return <Loading what='the signed head' />
  return <HeadSummary check={head.data} custodian={chain.custodian} />
}

export function TimelineScreen (props: { session: Session }): JSX.Element {
  const { session } = props
  const [progress, setProgress] = useState<string | undefined>(undefined)
  const chain = useAsync(async () => await loadChain(session, (read, of) => setProgress(`${read} of ${of}`)), [session.token])
  return (
    <Card title='Your timeline' testId='timeline'>
      {chain.status === 'loading' && chain.data === undefined && progress !== undefined && <p class='muted'>Read {progress} entries…</p>}
      <Loaded state={chain} what='your chain'>
        {(data) => {
          const failed = data.entries.filter((e) => !e.check.ok).length
          const shown = new Set(data.entries.map((e) => e.seq))
          const missingErased = [...data.erased].filter((s) => !shown.has(s))
          const items: Array<{ seq: number, el: JSX.Element }> = [
            ...data.entries.map((e) => ({ seq: e.seq, el: <EntryItem key={e.seq} entry={e} erased={data.erased.has(e.seq)} /> })),
            ...missingErased.map((seq) => ({ seq, el: <ErasedItem key={`erased-${seq}`} seq={seq} /> }))
          ].sort((a, b) => b.seq - a.seq)
          return (
            <>
              <p data-testid='custodian'>
                Your record is kept by <strong>{data.custodian}</strong>
                {data.segments.length > 1 && <span class='muted'> (moved {data.segments.length - 1} {data.segments.length === 2 ? 'time' : 'times'})</span>}
              </p>
              <HeadLine session={session} chain={data} />
              <p class='muted' data-testid='timeline-count'>
                {data.entries.length} entries, {data.entries.length - failed} checked on this device{failed > 0 ? `, ${failed} NOT verified` : ''}.
              </p>
              <ol class='timeline'>{items.map((i) => i.el)}</ol>
            </>
          )
        }}
      </Loaded>
    </Card>
  )
}
