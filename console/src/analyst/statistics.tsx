/**
 * Statistics across the consortium, by measure and period: a table of the
 * distribution (people, readings, mean, percentiles) and a bar chart of the
 * mean. A period with fewer than k people is suppressed by the node: it
 * gives no numbers at all, and this screen says so in the row and leaves
 * the bar out with a note, so that no suppressed cell reads as a zero.
 */
import type { StatisticsReply } from '@healthchain/node/api'
import type { ChartConfiguration } from 'chart.js'
import type { JSX } from 'preact'
import { useMemo, useState } from 'preact/hooks'
import { ChartCanvas } from '../charts/chart-canvas.js'
import type { Session } from '../session.js'
import { useAsync } from '../ui/async.js'
import { Badge, Card, Field, Loaded, Notice } from '../ui/components.js'
import { statistics, type Period } from './analyst-api.js'
import { MEASURES, measureName, unitWords } from './measures.js'

type Bucket = StatisticsReply['buckets'][number]

const PERIODS: ReadonlyArray<{ value: Period, label: string }> = [
  { value: 'month', label: 'Month' }, { value: 'week', label: 'Week (from Monday)' }, { value: 'day', label: 'Day' }
]

/** A number as the table and chart show it: at most one decimal. */
export function formatValue (n: number | undefined): string {
  return n === undefined ? '' : n.toLocaleString('en', { maximumFractionDigits: 1 })
}

/** A date input's day as an instant: its start, or (for the last day of a window) the start of the next day. */
function toInstant (date: string, endOfDay: boolean): string | undefined {
  const start = date === '' ? Number.NaN : Date.parse(`${date}T00:00:00Z`)
  return Number.isNaN(start) ? undefined : new Date(start + (endOfDay ? 86_400_000 : 0)).toISOString()
}

export function StatisticsScreen (props: { session: Session }): JSX.Element {
  const [code, setCode] = useState(MEASURES[0]!.code)
  const [period, setPeriod] = useState<Period>('month')
  const [from, setFrom] = useState('')
  const [to, setTo] = useState('')
  const since = toInstant(from, false)
  const until = toInstant(to, true)
  const state = useAsync(async () => await statistics(props.session.token, {
    code, period, ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until })
  }), [props.session.token, code, period, since, until])

  return (
    <>
      <Card title='Statistics across the consortium' testId='statistics'>
        <p class='muted'>
          Counts and distributions of one measure, over every patient whose chain this node holds, by period.
          No one can be picked out: only totals are shown, never a person.
        </p>
        <form class='grid-2' onSubmit={(e) => e.preventDefault()}>
          <Field label='Measure'>
            <select name='measure' value={code} onChange={(e) => setCode(e.currentTarget.value)}>
              {MEASURES.map((m) => <option key={m.code} value={m.code}>{m.name} ({m.unit}) · LOINC {m.code}</option>)}
            </select>
          </Field>
          <Field label='Period'>
            <select name='period' value={period} onChange={(e) => setPeriod(e.currentTarget.value as Period)}>
              {PERIODS.map((p) => <option key={p.value} value={p.value}>{p.label}</option>)}
            </select>
          </Field>
          <Field label='From (optional)' hint='First day included, UTC.'>
            <input type='date' name='from' value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
          </Field>
          <Field label='To (optional)' hint='Last day included, UTC.'>
            <input type='date' name='to' value={to} onChange={(e) => setTo(e.currentTarget.value)} />
          </Field>
        </form>
      </Card>
      <Loaded state={state} what='the statistics'>
        {(reply) => <StatisticsResult reply={reply} code={code} />}
      </Loaded>
    </>
  )
}

function StatisticsResult (props: { reply: StatisticsReply, code: string }): JSX.Element {
  const { reply } = props
  const k = reply.minUsers
  const buckets = useMemo(() => reply.buckets.filter((b) => b.code === props.code), [reply, props.code])
  const name = measureName(props.code)
  return (
    <Card title={`${name} by ${reply.period}`} testId='statistics-result'>
      <Notice kind='info' testId='suppression-rule'>
        Periods with fewer than <strong data-testid='min-users'>{k}</strong> people are suppressed: the node gives no numbers for them,
        because with so few people a number could point to one of them. Suppressed here: <span data-testid='suppressed-count'>{reply.suppressedBuckets}</span>.
      </Notice>
      {buckets.length === 0
        ? <p class='muted' data-testid='statistics-empty'>No readings of {name} in this window. Pick another measure, or widen the dates.</p>
        : (
            <>
              <MeanChart buckets={buckets} name={name} k={k} period={reply.period} />
              <div class='table-wrap'>
                <table data-testid='statistics-table'>
                  <thead>
                    <tr>
                      <th>period</th><th class='num'>people</th><th class='num'>readings</th><th class='num'>mean</th><th class='num'>min</th>
                      <th class='num'>10th pct</th><th class='num'>median</th><th class='num'>90th pct</th><th class='num'>max</th><th>unit</th>
                    </tr>
                  </thead>
                  <tbody>
                    {buckets.map((b) => <BucketRow key={`${b.period} ${b.unit ?? ''}`} bucket={b} k={k} />)}
                  </tbody>
                </table>
              </div>
            </>
          )}
    </Card>
  )
}

function BucketRow (props: { bucket: Bucket, k: number }): JSX.Element {
  const b = props.bucket
  if (b.suppressed) {
    return (
      <tr data-testid='stats-row' data-period={b.period} data-suppressed='true'>
        <td>{b.period}</td>
        <td colSpan={8}>
          <Badge kind='muted' title='too few people to disclose anything'>suppressed (&lt; {props.k} people)</Badge>
        </td>
        <td>{unitWords(b.unit)}</td>
      </tr>
    )
  }
  return (
    <tr data-testid='stats-row' data-period={b.period} data-suppressed='false'>
      <td>{b.period}</td>
      <td class='num' data-testid='users'>{b.users}</td>
      <td class='num' data-testid='count'>{b.count}</td>
      <td class='num' data-testid='mean'>{formatValue(b.mean)}</td>
      <td class='num' data-testid='min'>{formatValue(b.min)}</td>
      <td class='num'>{formatValue(b.p10)}</td>
      <td class='num' data-testid='median'>{formatValue(b.p50)}</td>
      <td class='num'>{formatValue(b.p90)}</td>
      <td class='num' data-testid='max'>{formatValue(b.max)}</td>
      <td>{unitWords(b.unit)}</td>
    </tr>
  )
}

/**
 * The mean per period, for the unit most periods are in. A suppressed
 * period keeps its place on the axis, labelled as suppressed, with no bar:
 * Chart.js draws nothing for null, where a 0 would look like data.
 */
function MeanChart (props: { buckets: readonly Bucket[], name: string, k: number, period: Period }): JSX.Element {
  const unit = mainUnit(props.buckets)
  const shown = props.buckets.filter((b) => b.unit === unit)
  const suppressed = shown.filter((b) => b.suppressed).map((b) => b.period)
  const config = useMemo((): ChartConfiguration => ({
    type: 'bar',
    data: {
      labels: shown.map((b) => b.suppressed ? [b.period, 'suppressed'] : b.period),
      datasets: [{ label: `mean (${unitWords(unit)})`, data: shown.map((b) => b.suppressed ? null : b.mean ?? null), backgroundColor: '#0f5c63' }]
    },
    options: {
      // Bars start at zero: a bar's length is read as its size, so a cut axis would make small differences look large.
      scales: { y: { beginAtZero: true, title: { display: true, text: unitWords(unit) } } },
      plugins: { legend: { display: false } }
    }
  }), [props.buckets])
  return (
    <figure class='stats-chart'>
      <ChartCanvas config={config} label={`mean ${props.name} per ${props.period}, in ${unitWords(unit)}`} testId='statistics-chart' />
      {suppressed.length > 0 && (
        <figcaption class='muted' data-testid='chart-suppressed-note'>
          No bar for {suppressed.join(', ')}: suppressed, fewer than {props.k} people. This is not a zero.
        </figcaption>
      )}
      {shown.length < props.buckets.length && <figcaption class='muted'>Readings in other units are in the table only.</figcaption>}
    </figure>
  )
}

function mainUnit (buckets: readonly Bucket[]): string | null {
  const counts = new Map<string | null, number>()
  for (const b of buckets) counts.set(b.unit, (counts.get(b.unit) ?? 0) + 1)
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null
}
