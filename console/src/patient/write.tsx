/**
 * Writing to one's own chain from the browser: an exercise period, a place,
 * or a file (GPX track, steps CSV) imported. Each entry is built and signed
 * here with the keys in memory and sent (writes.ts); when the node does not
 * answer, it is kept on this device and sent when the node is back.
 */
import {
  buildExerciseEntry, buildLocationEntry, exercisePlain, isClientError, locationPlains, parseGpx, parseStepsCsv
} from '@healthchain/client/user-side'
import type { UnsignedEntry } from '@healthchain/core'
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { ApiFailure } from '../api.js'
import { crypto } from '../crypto.js'
import type { Session } from '../session.js'
import { Card, ErrorNotice, Field, Notice } from '../ui/components.js'
import { submit } from './writes.js'

interface Outcome { readonly sent: number, readonly queued: number, readonly seqs: number[], readonly duplicates: number }

/** A client-side refusal (a value out of range, a malformed file) as a failure the notices explain, its code kept. */
function asFailure (err: unknown): unknown {
  return isClientError(err) ? new ApiFailure(err.code, err.message, 0) : err
}

/** Builds the entries (refusals before anything is sent), then submits them in order. */
async function writeAll (session: Session, build: () => Array<{ entry: UnsignedEntry, label: string }>): Promise<Outcome> {
  const built = build()
  let outcome: Outcome = { sent: 0, queued: 0, seqs: [], duplicates: 0 }
  for (const { entry, label } of built) {
    const result = await submit(session, entry, label)
    outcome = 'sent' in result
      ? { ...outcome, sent: outcome.sent + 1, seqs: [...outcome.seqs, result.sent.seq], duplicates: outcome.duplicates + (result.sent.duplicate ? 1 : 0) }
      : { ...outcome, queued: outcome.queued + 1 }
  }
  return outcome
}

function OutcomeNotice (props: { outcome: Outcome, what: string }): JSX.Element {
  const { outcome, what } = props
  if (outcome.queued > 0) {
    return (
      <Notice kind='warn' testId='write-queued'>
        The node does not answer: {outcome.queued} {what} kept on this device, waiting to send. They are sent when the node answers again.
      </Notice>
    )
  }
  return <Notice kind='ok' testId='write-sent'>Signed on this device and written: {outcome.sent} {what} (#{outcome.seqs.join(', #')}).</Notice>
}

function useWriter (session: Session): {
  busy: boolean, error: unknown, outcome: Outcome | undefined, run: (build: () => Array<{ entry: UnsignedEntry, label: string }>) => Promise<boolean>
} {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const [outcome, setOutcome] = useState<Outcome | undefined>(undefined)
  const run = async (build: () => Array<{ entry: UnsignedEntry, label: string }>): Promise<boolean> => {
    setBusy(true)
    setError(undefined)
    setOutcome(undefined)
    try {
      setOutcome(await writeAll(session, build))
      return true
    } catch (err) {
      setError(asFailure(err))
      return false
    } finally {
      setBusy(false)
    }
  }
  return { busy, error, outcome, run }
}

const num = (s: string): number | undefined => s.trim() === '' ? undefined : Number(s)

function localInput (time: number): string {
  const d = new Date(time - new Date(time).getTimezoneOffset() * 60_000)
  return d.toISOString().slice(0, 16)
}

function ExerciseForm (props: { session: Session }): JSX.Element {
  const now = Date.now()
  const [start, setStart] = useState(localInput(now - 3_600_000))
  const [end, setEnd] = useState(localInput(now))
  const [steps, setSteps] = useState('')
  const [distance, setDistance] = useState('')
  const [energy, setEnergy] = useState('')
  const [heartRate, setHeartRate] = useState('')
  const w = useWriter(props.session)
  const onSubmit = (e: Event): void => {
    e.preventDefault()
    void w.run(() => {
      const plain = exercisePlain({
        start: new Date(start).getTime(),
        end: new Date(end).getTime(),
        ...(num(steps) === undefined ? {} : { steps: num(steps) }),
        ...(num(distance) === undefined ? {} : { distance: num(distance) }),
        ...(num(energy) === undefined ? {} : { activeEnergy: num(energy) }),
        ...(num(heartRate) === undefined ? {} : { heartRate: num(heartRate) })
      })
      return [{ entry: buildExerciseEntry(plain, crypto), label: 'Exercise' }]
    }).then((ok) => { if (ok) { setSteps(''); setDistance(''); setEnergy(''); setHeartRate('') } })
  }
  return (
    <Card title='Exercise' testId='write-exercise'>
      <form onSubmit={onSubmit}>
        <div class='grid-2'>
          <Field label='From'><input type='datetime-local' value={start} onInput={(e) => setStart(e.currentTarget.value)} required /></Field>
          <Field label='To'><input type='datetime-local' value={end} onInput={(e) => setEnd(e.currentTarget.value)} required /></Field>
          <Field label='Steps'><input type='number' inputMode='numeric' min={0} step={1} value={steps} onInput={(e) => setSteps(e.currentTarget.value)} /></Field>
          <Field label='Distance (metres)'><input type='number' min={0} step='any' value={distance} onInput={(e) => setDistance(e.currentTarget.value)} /></Field>
          <Field label='Active energy (kcal)'><input type='number' min={0} step='any' value={energy} onInput={(e) => setEnergy(e.currentTarget.value)} /></Field>
          <Field label='Heart rate (beats/minute)'><input type='number' min={1} step='any' value={heartRate} onInput={(e) => setHeartRate(e.currentTarget.value)} /></Field>
        </div>
        {w.error !== undefined && <ErrorNotice error={w.error} testId='write-error' />}
        {w.outcome !== undefined && <OutcomeNotice outcome={w.outcome} what='exercise entry' />}
        <button type='submit' disabled={w.busy}>{w.busy ? 'Signing and sending…' : 'Sign and save exercise'}</button>
      </form>
    </Card>
  )
}

function PlaceForm (props: { session: Session }): JSX.Element {
  const [lat, setLat] = useState('')
  const [lon, setLon] = useState('')
  const [accuracy, setAccuracy] = useState('10')
  const [time, setTime] = useState(localInput(Date.now()))
  const w = useWriter(props.session)
  const onSubmit = (e: Event): void => {
    e.preventDefault()
    void w.run(() => locationPlains([{ lat: Number(lat), lon: Number(lon), accuracy: Number(accuracy), time: new Date(time).getTime() }])
      .map((plain) => ({ entry: buildLocationEntry(plain, crypto), label: 'Place' })))
  }
  return (
    <Card title='A place' testId='write-place'>
      <form onSubmit={onSubmit}>
        <div class='grid-2'>
          <Field label='Latitude (degrees)'><input type='number' step='any' min={-90} max={90} value={lat} onInput={(e) => setLat(e.currentTarget.value)} required /></Field>
          <Field label='Longitude (degrees)'><input type='number' step='any' min={-180} max={180} value={lon} onInput={(e) => setLon(e.currentTarget.value)} required /></Field>
          <Field label='Accuracy (metres)'><input type='number' step='any' min={0} value={accuracy} onInput={(e) => setAccuracy(e.currentTarget.value)} required /></Field>
          <Field label='When'><input type='datetime-local' value={time} onInput={(e) => setTime(e.currentTarget.value)} required /></Field>
        </div>
        {w.error !== undefined && <ErrorNotice error={w.error} testId='place-error' />}
        {w.outcome !== undefined && <OutcomeNotice outcome={w.outcome} what='place entry' />}
        <button type='submit' disabled={w.busy}>{w.busy ? 'Signing and sending…' : 'Sign and save place'}</button>
      </form>
    </Card>
  )
}

function ImportForm (props: { session: Session }): JSX.Element {
  const w = useWriter(props.session)
  const onFile = async (e: Event, kind: 'gpx' | 'csv'): Promise<void> => {
    const input = e.currentTarget as HTMLInputElement
    const file = input.files?.[0]
    if (file === undefined) return
    const text = await file.text()
    input.value = ''
    await w.run(() => kind === 'gpx'
      ? locationPlains(parseGpx(text).points).map((plain) => ({ entry: buildLocationEntry(plain, crypto), label: `Places from ${file.name}` }))
      : parseStepsCsv(text).map((row) => ({ entry: buildExerciseEntry(exercisePlain(row), crypto), label: `Exercise from ${file.name}` })))
  }
  return (
    <Card title='Import a file' testId='write-import'>
      <p class='muted'>A GPX track from a sports watch or app, or a CSV of steps (columns start, end, steps; optional distance_m, active_energy_kcal, heart_rate_bpm).</p>
      <Field label='GPX track'><input type='file' accept='.gpx,application/gpx+xml' disabled={w.busy} onChange={(e) => { void onFile(e, 'gpx') }} /></Field>
      <Field label='Steps CSV'><input type='file' accept='.csv,text/csv' disabled={w.busy} onChange={(e) => { void onFile(e, 'csv') }} /></Field>
      {w.busy && <p class='loading' role='status'>Signing and sending…</p>}
      {w.error !== undefined && <ErrorNotice error={w.error} testId='import-error' />}
      {w.outcome !== undefined && <OutcomeNotice outcome={w.outcome} what='entries' />}
    </Card>
  )
}

export function WriteScreen (props: { session: Session }): JSX.Element {
  return (
    <div class='grid-2' data-testid='write'>
      <ExerciseForm session={props.session} />
      <PlaceForm session={props.session} />
      <ImportForm session={props.session} />
    </div>
  )
}
