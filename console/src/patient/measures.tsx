/**
 * Measurements over the years: one chart per LOINC code, across every
 * institution that measured it, from exams' plain results and their sealed
 * parts opened on this device. Reference range: the one the exam wrote on
 * the observation, else the node's built-in table (for the same unit);
 * values outside it are marked, in the chart and in the table.
 */
import { rangeFor } from '@healthchain/node/api'
import type { JSX } from 'preact'
import { isOutOfRange, SeriesChart, type ReferenceRange } from '../charts/series-chart.js'
import type { Session } from '../session.js'
import { useAsync } from '../ui/async.js'
import { Badge, Card, Loaded, formatDate } from '../ui/components.js'
import { loadChain, type PatientChain } from './chain.js'
import { measureName, unitWords } from './labels.js'

export interface MeasurePoint {
  readonly time: number
  readonly value: number
  readonly source: string
  readonly seq: number
  readonly range: ReferenceRange | undefined
  readonly sealed: boolean
}

export interface Measure {
  readonly code: string
  readonly unit: string | undefined
  readonly points: MeasurePoint[]
  /** The range the chart draws: the latest point's. */
  readonly range: ReferenceRange | undefined
}

/** Every numeric observation of the checked, unerased exams, by code. */
export function measuresOf (chain: PatientChain): Measure[] {
  const byCode = new Map<string, { unit: string | undefined, points: MeasurePoint[] }>()
  for (const e of chain.entries) {
    if (e.entry?.type !== 'exam' || !e.check.ok || chain.erased.has(e.seq)) continue
    const lists = [{ sealed: false, list: e.entry.plain.observations }]
    if (e.sealed.state === 'opened' && e.sealed.data.observations !== undefined) lists.push({ sealed: true, list: e.sealed.data.observations })
    for (const { sealed, list } of lists) {
      for (const o of list) {
        if (typeof o.value !== 'number') continue
        const range = rangeFor(o.code, o.unit ?? null, { low: o.low ?? null, high: o.high ?? null })
        const m = byCode.get(o.code) ?? { unit: o.unit, points: [] }
        m.points.push({ time: o.time ?? e.time, value: o.value, source: e.view.author, seq: e.seq, range, sealed })
        byCode.set(o.code, m)
      }
    }
  }
  return [...byCode.entries()].map(([code, m]) => {
    const points = m.points.sort((a, b) => a.time - b.time)
    return { code, unit: m.unit, points, range: points[points.length - 1]?.range }
  }).sort((a, b) => measureName(a.code).localeCompare(measureName(b.code)))
}

function rangeText (range: ReferenceRange | undefined, unit: string): string {
  if (range === undefined) return 'no reference range'
  if (range.low !== undefined && range.high !== undefined) return `normal ${range.low}–${range.high} ${unit}`
  return range.low !== undefined ? `normal from ${range.low} ${unit}` : `normal up to ${range.high ?? ''} ${unit}`
}

function MeasureCard (props: { measure: Measure }): JSX.Element {
  const { measure } = props
  const unit = unitWords(measure.unit)
  const out = measure.points.filter((p) => isOutOfRange(p.value, p.range)).length
  return (
    <Card title={measureName(measure.code)} testId={`measure-${measure.code}`}>
      <p class='muted'>
        {measure.points.length} {measure.points.length === 1 ? 'value' : 'values'} · {rangeText(measure.range, unit)}
        {out > 0 && <> · <span class='out-of-range' data-testid='out-of-range-count'>{out} out of range</span></>}
      </p>
      <SeriesChart title={measureName(measure.code)} unit={unit} points={measure.points} range={measure.range} testId={`chart-${measure.code}`} />
      <div class='table-wrap'>
        <table>
          <thead><tr><th>Date</th><th class='num'>Value</th><th>Where</th><th /></tr></thead>
          <tbody>
            {[...measure.points].reverse().map((p) => {
              const outside = isOutOfRange(p.value, p.range)
              return (
                <tr key={`${p.seq}-${p.time}-${p.value}`} data-testid='measure-row' class={outside ? 'out-of-range' : ''}>
                  <td>{formatDate(p.time)}</td>
                  <td class='num' data-testid='measure-value'>{p.value} {unit}</td>
                  <td>{p.source}{p.sealed ? ' (sealed)' : ''}</td>
                  <td>{outside && <Badge kind='bad'><span data-testid='out-of-range'>out of range</span></Badge>}</td>
                </tr>
              )
            })}
          </tbody>
        </table>
      </div>
    </Card>
  )
}

export function MeasuresScreen (props: { session: Session }): JSX.Element {
  const chain = useAsync(async () => await loadChain(props.session), [props.session.token])
  return (
    <Loaded state={chain} what='your measurements'>
      {(data) => {
        const measures = measuresOf(data)
        if (measures.length === 0) return <Card title='Measurements'><p class='muted'>No exam results yet. They appear here after your next check-up.</p></Card>
        return <div class='grid-2' data-testid='measures'>{measures.map((m) => <MeasureCard key={m.code} measure={m} />)}</div>
      }}
    </Loaded>
  )
}
