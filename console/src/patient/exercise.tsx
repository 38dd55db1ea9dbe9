/**
 * Exercise by day or by week: steps, distance and active energy as bars,
 * and the same numbers in a table, from the node's summary of the
 * patient's own exercise entries (GET /v1/users/{id}/exercise), in this
 * device's time zone.
 */
import { exerciseReplySchema, type ExerciseReply } from '@healthchain/node/api'
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { request } from '../api.js'
import { BarChart } from '../charts/bar-chart.js'
import type { Session } from '../session.js'
import { useAsync } from '../ui/async.js'
import { Card, Loaded } from '../ui/components.js'
import { userOf } from './chain.js'

type Period = 'day' | 'week'

async function loadExercise (session: Session, period: Period): Promise<ExerciseReply> {
  const user = userOf(session)
  return await request('GET', `/v1/users/${encodeURIComponent(user.userId)}/exercise`, exerciseReplySchema, {
    token: session.token, query: { period, utcOffsetMinutes: String(-new Date().getTimezoneOffset()) }
  })
}

const MEASURES = [
  { key: 'steps', label: 'Steps', unit: 'steps', value: (r: ExerciseReply[number]) => r.steps },
  { key: 'distance', label: 'Distance', unit: 'km', value: (r: ExerciseReply[number]) => Math.round(r.distanceMetres / 10) / 100 },
  { key: 'energy', label: 'Active energy', unit: 'kcal', value: (r: ExerciseReply[number]) => Math.round(r.activeEnergyKcal) }
] as const

export function ExerciseScreen (props: { session: Session }): JSX.Element {
  const [period, setPeriod] = useState<Period>('day')
  const data = useAsync(async () => await loadExercise(props.session, period), [props.session.token, period])
  return (
    <Card title='Exercise' testId='exercise'>
      <div class='tabs' role='tablist' aria-label='Period'>
        {(['day', 'week'] as const).map((p) => (
          <button key={p} type='button' role='tab' aria-selected={period === p} class={period === p ? 'tab active' : 'tab'} onClick={() => setPeriod(p)}>
            By {p}
          </button>
        ))}
      </div>
      <Loaded state={data} what='your exercise'>
        {(rows) => rows.length === 0
          ? <p class='muted' data-testid='exercise-empty'>No exercise yet. Record some under Write, or import a steps file.</p>
          : (
              <>
                {MEASURES.map((m) => (
                  <div key={m.key}>
                    <h3>{m.label} ({m.unit})</h3>
                    {/* A measure never recorded gets a sentence, not an empty chart. */}
                    {rows.every((r) => m.value(r) === 0)
                      ? <p class='muted' data-testid={`exercise-${m.key}-none`}>No {m.label.toLowerCase()} recorded in this time.</p>
                      : (
                          <BarChart
                            categories={rows.map((r) => r.label)} series={[{ label: m.label, values: rows.map(m.value) }]} unit={m.unit}
                            label={`${m.label} by ${period}`} testId={`exercise-${m.key}`}
                          />
                        )}
                  </div>
                ))}
                <div class='table-wrap'>
                  <table>
                    <thead><tr><th>{period === 'day' ? 'Day' : 'Week of'}</th><th class='num'>Steps</th><th class='num'>Distance (km)</th><th class='num'>Energy (kcal)</th><th class='num'>Heart rate (beats/min)</th></tr></thead>
                    <tbody>
                      {[...rows].reverse().map((r) => (
                        <tr key={r.label} data-testid='exercise-row'>
                          <td>{r.label}</td>
                          <td class='num' data-testid='exercise-steps'>{r.steps}</td>
                          <td class='num'>{(r.distanceMetres / 1000).toFixed(2)}</td>
                          <td class='num'>{Math.round(r.activeEnergyKcal)}</td>
                          <td class='num'>{r.heartRateMean === null ? '–' : Math.round(r.heartRateMean)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </>
            )}
      </Loaded>
    </Card>
  )
}
