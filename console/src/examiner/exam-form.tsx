/**
 * Enter an exam for a patient: measurements found by name in the local
 * LOINC table, each value with its unit (checked against the code's UCUM
 * units before anything is sent), each plain or sealed; notes are always
 * sealed. Or upload a FHIR Observation or Bundle as it comes from the lab
 * system. The node signs as this hospital and seals; its refusals are shown
 * in words.
 */
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import type { ExamPlain, ExamSealed } from '@healthchain/core'
import type { Session } from '../session.js'
import { Card, ErrorNotice, Field, Notice } from '../ui/components.js'
import { writeExam } from './api.js'
import { FhirUpload } from './fhir-upload.js'
import { rangeOf, searchExamCodes, unitProblem, type ExamCode } from './loinc.js'

interface Row {
  readonly key: number
  readonly entry: ExamCode
  readonly value: string
  readonly unit: string
  readonly sealed: boolean
}

type Observation = ExamPlain['observations'][number]

function normalOf (entry: ExamCode): string {
  return entry.low !== undefined || entry.high !== undefined ? `; normal ${entry.low ?? ''}–${entry.high ?? ''} ${entry.units[0] ?? ''}` : ''
}

const today = (): string => {
  const d = new Date()
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
}

/** The exam's rows as observations, or the problems that stop them being sent. */
export function toObservations (rows: readonly Row[], time: number): { plain: Observation[], sealed: Observation[], problems: string[] } {
  const plain: Observation[] = []
  const sealed: Observation[] = []
  const problems: string[] = []
  for (const row of rows) {
    const value = Number(row.value.trim().replace(',', '.'))
    if (row.value.trim() === '' || !Number.isFinite(value)) {
      problems.push(`${row.entry.display}: give the value as a number.`)
      continue
    }
    const unitIssue = unitProblem(row.entry, row.unit)
    if (unitIssue !== undefined) {
      problems.push(unitIssue)
      continue
    }
    const unit = row.unit.trim()
    const observation: Observation = { code: row.entry.code, value, unit, ...rangeOf(row.entry, unit), time }
    ;(row.sealed ? sealed : plain).push(observation)
  }
  return { plain, sealed, problems }
}

export function ExamScreen (props: { session: Session, userId: string }): JSX.Element {
  const { session, userId } = props
  const [query, setQuery] = useState('')
  const [rows, setRows] = useState<Row[]>([])
  const [title, setTitle] = useState('')
  const [date, setDate] = useState(today())
  const [notes, setNotes] = useState('')
  const [problems, setProblems] = useState<string[]>([])
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const [saved, setSaved] = useState<number | undefined>(undefined)
  const candidates = searchExamCodes(query)
  const patientHref = `#/examiner/patient/${encodeURIComponent(userId)}`

  const add = (entry: ExamCode): void => {
    setRows((before) => [...before, { key: Date.now() + Math.random(), entry, value: '', unit: entry.units[0] ?? '', sealed: false }])
    setQuery('')
  }
  const remove = (key: number): void => setRows((before) => before.filter((r) => r.key !== key))
  const change = (key: number, patch: Partial<Row>): void => setRows((before) => before.map((r) => r.key === key ? { ...r, ...patch } : r))

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setError(undefined)
    setSaved(undefined)
    const time = Date.parse(`${date}T12:00:00`)
    const found: string[] = []
    if (!Number.isFinite(time)) found.push('Give the date of the exam.')
    else if (time > Date.now() + 86_400_000) found.push('The exam date is in the future.')
    if (rows.length === 0 && notes.trim() === '') found.push('Add at least one measurement (find it by name above), or a note.')
    const obs = toObservations(rows, time)
    found.push(...obs.problems)
    setProblems(found)
    if (found.length > 0) return
    const plain: ExamPlain = { ...(title.trim() === '' ? {} : { title: title.trim() }), observations: obs.plain }
    const sealed: ExamSealed = { ...(obs.sealed.length === 0 ? {} : { observations: obs.sealed }), ...(notes.trim() === '' ? {} : { notes: notes.trim() }) }
    setBusy(true)
    try {
      const reply = await writeExam(session.token, userId, { plain, ...(Object.keys(sealed).length === 0 ? {} : { sealed }) })
      setSaved(reply.seq)
      setRows([])
      setNotes('')
      setTitle('')
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <>
      <p><a href={patientHref}>← Back to the patient</a> <code class='id'>{userId}</code></p>
      <Card title='Enter an exam' testId='exam-form'>
        <form onSubmit={(e) => { void submit(e) }}>
          <div class='grid-2'>
            <Field label='Title' hint='Optional, e.g. “Annual check-up”.'>
              <input name='title' value={title} maxLength={200} onInput={(e) => setTitle(e.currentTarget.value)} />
            </Field>
            <Field label='Date of the exam'>
              <input type='date' name='date' value={date} max={today()} onInput={(e) => setDate(e.currentTarget.value)} />
            </Field>
          </div>
          <Field label='Find a measurement' hint='Type its name, an abbreviation or the LOINC code: “glucose”, “hba1c”, “8480-6”.'>
            <input name='loinc-search' autocomplete='off' value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
          </Field>
          {query.trim() !== '' && (candidates.length === 0
            ? <p class='muted' data-testid='no-candidates'>No measurement in the list matches “{query}”. Try another word, or upload the result as FHIR.</p>
            : (
                <ul class='candidates' data-testid='candidates' aria-label='Matching measurements'>
                  {candidates.map((c) => (
                    <li key={c.code}>
                      <button type='button' data-testid='candidate' onClick={() => add(c)}>
                        {c.display} <span class='muted'>· {c.code} · {c.units.join(', ')}</span>
                      </button>
                    </li>
                  ))}
                </ul>
              ))}
          {rows.length > 0 && (
            <div class='obs-list' data-testid='exam-rows'>
              {rows.map((row) => (
                <div class='obs-row' key={row.key} data-testid='exam-row'>
                  <span>{row.entry.display} <span class='muted'>({row.entry.code}{normalOf(row.entry)})</span></span>
                  <input
                    aria-label={`Value of ${row.entry.display}`} placeholder='value' inputMode='decimal' value={row.value}
                    onInput={(e) => change(row.key, { value: e.currentTarget.value })}
                  />
                  <input
                    aria-label={`Unit of ${row.entry.display}`} placeholder='unit' list={`units-${row.entry.code}`} value={row.unit}
                    autocapitalize='off' spellcheck={false}
                    onInput={(e) => change(row.key, { unit: e.currentTarget.value })}
                  />
                  <datalist id={`units-${row.entry.code}`}>{row.entry.units.map((u) => <option key={u} value={u} />)}</datalist>
                  <label class='row' title='Sealed: readable only by the patient, us and the hospitals the patient allows'>
                    <input type='checkbox' checked={row.sealed} onChange={(e) => change(row.key, { sealed: e.currentTarget.checked })} /> sealed
                  </label>
                  <button type='button' class='secondary' aria-label={`Remove ${row.entry.display}`} onClick={() => remove(row.key)}>✕</button>
                </div>
              ))}
            </div>
          )}
          <Field label='Notes (always sealed)' hint='Free text for the patient and the hospitals they allow; never in the plain part.'>
            <textarea name='notes' rows={3} value={notes} onInput={(e) => setNotes(e.currentTarget.value)} />
          </Field>
          <p class='muted'>
            Plain values are readable by every member of the network (other hospitals, agencies, the regulator).
            Sealed values only by the patient, us and the hospitals the patient allows.
          </p>
          {problems.length > 0 && (
            <Notice kind='error' testId='exam-problems'>
              <ul>{problems.map((p) => <li key={p} data-testid='exam-problem'>{p}</li>)}</ul>
            </Notice>
          )}
          {error !== undefined && <ErrorNotice error={error} testId='exam-error' />}
          {saved !== undefined && (
            <Notice kind='ok' testId='exam-saved'>Saved as entry #{saved} of the patient's record. <a href={patientHref}>See it in the history</a>.</Notice>
          )}
          <button type='submit' disabled={busy}>{busy ? 'Saving…' : 'Save the exam'}</button>
        </form>
      </Card>
      <FhirUpload session={session} userId={userId} />
    </>
  )
}
