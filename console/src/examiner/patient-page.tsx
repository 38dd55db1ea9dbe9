/**
 * A patient's page for examiner staff: who holds the record and whether it
 * verifies, the history across institutions, a chart per measurement with
 * its reference range, and what this hospital may read sealed, and why.
 */
import type { JSX } from 'preact'
import { useMemo } from 'preact/hooks'
import type { EntryViewReply, SeriesReply } from '@healthchain/node/api'
import { isApiFailure } from '../api.js'
import { SeriesChart } from '../charts/series-chart.js'
import type { Session } from '../session.js'
import { useAsync } from '../ui/async.js'
import { Badge, Card, Loaded, Notice, formatDate } from '../ui/components.js'
import { chainEntries, chainSummary, series, verifyChain } from './api.js'
import { History } from './history.js'
import { displayOf, examCode, rangeOf } from './loinc.js'
import { WhyPanel } from './why-panel.js'

/** LOINC codes with numeric values in the exams' plain parts (what the node's index charts), in first-seen order. */
function plainCodes (entries: readonly EntryViewReply[]): string[] {
  const codes = new Set<string>()
  for (const entry of entries) {
    if (entry.type !== 'exam') continue
    const list = (entry.plain as { observations?: Array<{ code?: unknown, value?: unknown }> } | null)?.observations ?? []
    for (const o of list) if (typeof o.code === 'string' && typeof o.value === 'number') codes.add(o.code)
  }
  return [...codes]
}

export function PatientPage (props: { session: Session, userId: string }): JSX.Element {
  const { session, userId } = props
  const token = session.token
  const me = session.node.name
  const summary = useAsync(async () => await chainSummary(token, userId), [userId])
  const verify = useAsync(async () => await verifyChain(token, userId), [userId])
  const entries = useAsync(async () => await chainEntries(token, userId), [userId])
  const codes = useMemo(() => plainCodes(entries.data?.entries ?? []), [entries.data])
  const charts = useAsync(async () => await Promise.all(codes.map(async (code) => await series(token, userId, code))), [userId, codes.join(',')])

  if (summary.status === 'failed' && isApiFailure(summary.error) && summary.error.code === 'UNKNOWN_CHAIN') {
    return (
      <Card title='Patient' testId='patient-summary'>
        <Notice kind='warn' testId='unknown-patient'>
          This node holds no record for the user id <code class='id'>{userId}</code>. Check the id, or <a href='#/examiner'>search by its first characters</a>.
        </Notice>
      </Card>
    )
  }

  return (
    <>
      <Card title='Patient' testId='patient-summary'>
        <Loaded state={summary} what='the record'>
          {(s) => (
            <dl class='kv'>
              <dt>user id</dt><dd><code class='id' data-testid='patient-id'>{s.userId}</code></dd>
              <dt>enrolled at</dt><dd data-testid='patient-custodian'>{s.custodian}{s.custodian === me ? ' (us)' : ''}</dd>
              <dt>entries</dt><dd data-testid='patient-length'>{s.length}</dd>
              <dt>verified</dt>
              <dd data-testid='patient-verified'>
                {verify.status === 'loaded'
                  ? (verify.data.valid
                      ? <Badge kind='ok'>verified: {verify.data.verified} of {verify.data.length} entries</Badge>
                      : <Badge kind='bad' title={verify.data.problems.map((p) => p.message).join('; ')}>does not verify</Badge>)
                  : verify.status === 'failed' ? <Badge kind='warn'>could not be checked</Badge> : <span class='muted'>checking…</span>}
              </dd>
              <dt>forked</dt>
              <dd data-testid='patient-forked'>
                {s.forked
                  ? <Badge kind='bad'>forked: the enrolling institution signed two histories; do not trust this record</Badge>
                  : <Badge kind='ok'>no</Badge>}
              </dd>
            </dl>
          )}
        </Loaded>
        <div class='row'>
          <a href={`#/examiner/patient/${encodeURIComponent(userId)}/exam`} class='button' data-testid='enter-exam'>Enter an exam</a>
          <button type='button' class='secondary' onClick={() => { summary.reload(); verify.reload(); entries.reload() }}>Refresh</button>
        </div>
      </Card>
      <Card title='Measurements over time' testId='charts'>
        {codes.length === 0 && entries.status === 'loaded' && <p class='muted'>No measured values in plain exams yet.</p>}
        <Loaded state={charts} what='the measurements'>
          {(list) => <>{list.filter((s) => s.points.length > 0).map((s) => <MeasurementChart key={s.code} series={s} />)}</>}
        </Loaded>
      </Card>
      <div class='grid-2'>
        <Card title='History across institutions' testId='patient-history'>
          <Loaded state={entries} what='the history'>{(reply) => <History entries={reply.entries} me={me} />}</Loaded>
        </Card>
        <Card title='What we may read sealed, and why' testId='why-panel'>
          <Loaded state={entries} what='the consent entries'>{(reply) => <WhyPanel entries={reply.entries} me={me} />}</Loaded>
        </Card>
      </div>
    </>
  )
}

function MeasurementChart (props: { series: SeriesReply }): JSX.Element {
  const s = props.series
  const unit = s.unit ?? ''
  const table = examCode(s.code)
  const range = s.latest === null ? undefined : (s.points.at(-1)?.range ?? (table === undefined ? undefined : rangeOf(table, unit)))
  const title = displayOf(s.code)
  return (
    <section class='measurement' data-testid='measurement' data-code={s.code}>
      <h3>{title} <span class='muted'>({unit === '' ? 'no unit' : unit})</span></h3>
      <p class='muted' data-testid='measurement-summary'>
        {s.count} reading{s.count === 1 ? '' : 's'}
        {s.latest !== null && <>, latest {s.latest.value} {unit} on {formatDate(s.latest.time)}</>}
        {range !== undefined && <>; reference {range.low ?? ''}–{range.high ?? ''} {unit}</>}
        {s.outOfRange > 0 && <>; <span class='out-of-range'>{s.outOfRange} out of range</span></>}
      </p>
      <SeriesChart
        title={title} unit={unit} range={range} testId={`chart-${s.code}`}
        points={s.points.map((p) => ({ time: p.time, value: p.value, source: p.author }))}
      />
      <div class='table-wrap'>
        <table>
          <thead><tr><th>date</th><th class='num'>value</th><th>measured by</th></tr></thead>
          <tbody>
            {[...s.points].reverse().map((p) => (
              <tr key={`${p.seq}-${p.time}`} data-testid='measurement-point'>
                <td>{formatDate(p.time)}</td>
                <td class={`num ${p.outOfRange ? 'out-of-range' : ''}`}>{p.value} {p.unit ?? ''}{p.outOfRange ? ' ◆ out of range' : ''}</td>
                <td>{p.author}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {s.otherUnits.length > 0 && (
        <p class='muted'>Also {s.otherUnits.map((o) => `${o.count} in ${o.unit ?? 'no unit'}`).join(', ')}, not drawn here.</p>
      )}
    </section>
  )
}
