/**
 * Places: the location entries of the patient's chain, grouped by day (in
 * this device's time zone), one day chosen from the list and drawn as
 * trails on a tile-free map (nothing leaves the node's origin).
 */
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { TrailMap, type Trail } from '../charts/trail-map.js'
import type { Session } from '../session.js'
import { useAsync } from '../ui/async.js'
import { Card, Loaded, formatDate } from '../ui/components.js'
import { loadChain, type PatientChain } from './chain.js'

export interface PlacesDay {
  /** YYYY-MM-DD, local time. */
  readonly day: string
  readonly trails: Trail[]
}

function localDay (time: number): string {
  const d = new Date(time)
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
}

/** Each checked, unerased location entry as a trail, by the day of its first point; newest day first. */
export function placesByDay (chain: PatientChain): PlacesDay[] {
  const days = new Map<string, Trail[]>()
  for (const e of chain.entries) {
    if (e.entry?.type !== 'location' || !e.check.ok || chain.erased.has(e.seq)) continue
    const points = [...e.entry.plain.points].sort((a, b) => a.time - b.time)
    const day = localDay(points[0]!.time)
    const trails = days.get(day) ?? []
    trails.push({ label: `#${e.seq}, ${points.length} ${points.length === 1 ? 'point' : 'points'}`, points })
    days.set(day, trails)
  }
  return [...days.entries()].map(([day, trails]) => ({ day, trails })).sort((a, b) => b.day.localeCompare(a.day))
}

function DayMap (props: { days: PlacesDay[] }): JSX.Element {
  const [chosen, setChosen] = useState(props.days[0]?.day)
  const day = props.days.find((d) => d.day === chosen) ?? props.days[0]
  if (day === undefined) return <p class='muted' data-testid='places-empty'>No places yet. Import a GPX track under Write.</p>
  return (
    <>
      <label class='field'>
        <span class='label'>Day</span>
        <select value={day.day} onChange={(e) => setChosen(e.currentTarget.value)} data-testid='places-day'>
          {props.days.map((d) => (
            <option key={d.day} value={d.day}>{formatDate(`${d.day}T12:00:00`)} ({d.trails.reduce((n, t) => n + t.points.length, 0)} points)</option>
          ))}
        </select>
      </label>
      <TrailMap trails={day.trails} label={`Where you were on ${formatDate(`${day.day}T12:00:00`)}`} testId='places-map' />
    </>
  )
}

export function PlacesScreen (props: { session: Session }): JSX.Element {
  const chain = useAsync(async () => await loadChain(props.session), [props.session.token])
  return (
    <Card title='Places' testId='places'>
      <Loaded state={chain} what='your places'>{(data) => <DayMap days={placesByDay(data)} />}</Loaded>
    </Card>
  )
}
