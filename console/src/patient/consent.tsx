/**
 * Who may read the sealed parts of the patient's results, from the chain's
 * own (checked) consent entries and the registry: the patient, the
 * examiners who wrote exams, and the examiners granted access (since,
 * until). A grant names an active examiner of the registry and carries the
 * data keys of the sealed past, re-wrapped here in the browser for that
 * examiner's key (buildGrantEntries), so it can read the history; a
 * revocation stops sealing for it from then on.
 */
import { buildGrantEntries, buildRevokeEntry, type SealedPast } from '@healthchain/client/user-side'
import { ConsentState, fromHex, type InstitutionId } from '@healthchain/core'
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { crypto } from '../crypto.js'
import type { Session } from '../session.js'
import { useAsync } from '../ui/async.js'
import { Badge, Card, ErrorNotice, Field, Loaded, Notice, formatDate } from '../ui/components.js'
import { generationsOf, loadChain, type PatientChain } from './chain.js'
import { submit } from './writes.js'

export interface Reader {
  readonly who: string
  readonly why: 'you' | 'wrote' | 'granted'
  readonly since?: number
  readonly until?: number | undefined
}

/** The readers of the sealed parts as the chain's checked entries say now. */
export function readersOf (chain: PatientChain, now = Date.now()): Reader[] {
  const consent = new ConsentState()
  const grantTime = new Map<number, number>()
  const writers = new Set<string>()
  for (const e of chain.entries) {
    if (!e.check.ok || e.entry === undefined) continue
    if (e.entry.type === 'consent') {
      consent.apply(e.entry, e.seq)
      grantTime.set(e.seq, e.time)
    }
    if (e.entry.type === 'exam') writers.add(e.entry.author)
  }
  const granted = consent.active(now)
  return [
    { who: 'you', why: 'you' },
    ...[...writers].sort().map((who): Reader => ({ who, why: 'wrote' })),
    ...granted.map((g): Reader => ({ who: g.examiner, why: 'granted', since: grantTime.get(g.since) ?? 0, until: g.until }))
  ]
}

/** The sealed past the browser opened: what a grant re-wraps. */
/** The sealed exams a grant re-wraps, each bound to the key of the core it was written in (a chain that moved has several). */
export function sealedPastOf (chain: PatientChain): SealedPast[] {
  return chain.entries.flatMap((e): SealedPast[] =>
    e.entry?.type === 'exam' && e.entry.sealed !== undefined && e.check.ok && e.sealed.state === 'opened' && !chain.erased.has(e.seq)
      ? [{ seq: e.seq, id: e.entry.id, sealed: e.entry.sealed, chainKey: fromHex(e.segmentKey, 32, 'segmentKey') }]
      : [])
}

function GrantForm (props: { session: Session, chain: PatientChain, onDone: () => void }): JSX.Element {
  const { chain, session } = props
  const examiners = chain.registry.institutions.filter((i) => i.role === 'examiner' && i.status === 'active')
  const [examiner, setExaminer] = useState(examiners[0]?.id ?? '')
  const [until, setUntil] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const [done, setDone] = useState<string | undefined>(undefined)
  const grant = async (e: Event): Promise<void> => {
    e.preventDefault()
    const record = examiners.find((i) => i.id === examiner)
    if (record === undefined) return
    setBusy(true)
    setError(undefined)
    setDone(undefined)
    try {
      // Each data key is recovered with the box key of the generation it was sealed to, under its own core's key.
      const { entries, rewrapped } = buildGrantEntries({
        examiner: record.id as InstitutionId,
        examinerBox: fromHex(record.box, 32, 'box'),
        ...(until === '' ? {} : { until: new Date(`${until}T00:00:00`).getTime() }),
        history: sealedPastOf(chain),
        chainKey: fromHex(chain.chainKey, 32, 'chainKey'),
        userBox: generationsOf(session).map((g) => g.box)
      }, crypto)
      let queued = false
      for (const entry of entries) queued = 'queued' in await submit(session, entry, `Consent for ${record.id}`) || queued
      setDone(queued
        ? 'The node does not answer: the grant is kept on this device and sent when it answers.'
        : `${record.id} may now read your sealed results, and the ${rewrapped} earlier ${rewrapped === 1 ? 'one' : 'ones'}.`)
      props.onDone()
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  if (examiners.length === 0) return <p class='muted'>The registry lists no active examiner to grant.</p>
  return (
    <form onSubmit={(e) => { void grant(e) }} data-testid='grant-form'>
      <div class='grid-2'>
        <Field label='Examiner'>
          <select value={examiner} onChange={(e) => setExaminer(e.currentTarget.value)}>
            {examiners.map((i) => <option key={i.id} value={i.id}>{i.name} ({i.id})</option>)}
          </select>
        </Field>
        <Field label='Until (optional)' hint='Leave empty for access until you withdraw it.'>
          <input type='date' value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
        </Field>
      </div>
      {error !== undefined && <ErrorNotice error={error} testId='grant-error' />}
      {done !== undefined && <Notice kind='ok' testId='grant-done'>{done}</Notice>}
      <button type='submit' disabled={busy}>{busy ? 'Re-wrapping keys and signing…' : 'Grant access'}</button>
    </form>
  )
}

function ReadersTable (props: { session: Session, chain: PatientChain, onDone: () => void }): JSX.Element {
  const readers = readersOf(props.chain)
  const [busy, setBusy] = useState<string | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const revoke = async (examiner: string): Promise<void> => {
    setBusy(examiner)
    setError(undefined)
    try {
      await submit(props.session, buildRevokeEntry(examiner as InstitutionId, crypto), `Consent withdrawn from ${examiner}`)
      props.onDone()
    } catch (err) {
      setError(err)
    } finally {
      setBusy(undefined)
    }
  }
  return (
    <>
      <div class='table-wrap'>
        <table data-testid='readers'>
          <thead><tr><th>Who</th><th>Why</th><th>Since</th><th>Until</th><th /></tr></thead>
          <tbody>
            {readers.map((r) => (
              <tr key={`${r.why}-${r.who}`} data-testid='reader' data-who={r.who} data-why={r.why}>
                <td><strong>{r.who === 'you' ? 'You' : r.who}</strong></td>
                <td>{r.why === 'you' ? 'your own record' : r.why === 'wrote' ? 'wrote an exam (its own results)' : <Badge kind='ok'>granted by you</Badge>}</td>
                <td>{r.since === undefined ? '–' : formatDate(r.since)}</td>
                <td>{r.why !== 'granted' ? '–' : r.until === undefined ? 'until withdrawn' : formatDate(r.until)}</td>
                <td>
                  {r.why === 'granted' && (
                    <button type='button' class='danger' aria-label={`Withdraw ${r.who}`} disabled={busy !== undefined} onClick={() => { void revoke(r.who) }}>
                      {busy === r.who ? 'Withdrawing…' : 'Withdraw'}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {error !== undefined && <ErrorNotice error={error} testId='revoke-error' />}
    </>
  )
}

export function ConsentScreen (props: { session: Session }): JSX.Element {
  const [version, setVersion] = useState(0)
  const chain = useAsync(async () => await loadChain(props.session), [props.session.token, version])
  const reload = (): void => setVersion((n) => n + 1)
  return (
    <Loaded state={chain} what='your consents'>
      {(data) => (
        <div class='grid-2' data-testid='consent'>
          <Card title='Who can read your sealed results'>
            <p class='muted'>Every exam's results are sealed: only the readers below hold a key. Checked on this device from your chain.</p>
            <ReadersTable session={props.session} chain={data} onDone={reload} />
          </Card>
          <Card title='Give an examiner access'>
            <p class='muted'>The examiner can read your future sealed results, and your earlier ones: their keys are re-wrapped here, on this device.</p>
            <GrantForm session={props.session} chain={data} onDone={reload} />
          </Card>
        </div>
      )}
    </Loaded>
  )
}
