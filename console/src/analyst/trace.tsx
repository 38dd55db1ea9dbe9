/**
 * Contact tracing: whose location came within R metres and T minutes of a
 * person's in a time window. The contacts are listed and drawn: the traced
 * person's trail and each contact's (read from their chains' location
 * entries; the matched points alone if those cannot be read), the meeting
 * points highlighted. A trace is a sensitive query, so the screen then shows
 * the line this node's audit log wrote for it: who asked, when, about whom.
 */
import type { TraceReply } from '@healthchain/node/api'
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { TrailMap, type Trail, type TrailPoint } from '../charts/trail-map.js'
import type { Session } from '../session.js'
import { Badge, Card, ErrorNotice, Field, Loading, Notice, ShortId, formatDateTime } from '../ui/components.js'
import { auditLineOf, locationPoints, trace, type AuditLine, type LocationPoint, type TraceQuery } from './analyst-api.js'

interface TraceResult {
  readonly query: TraceQuery
  readonly reply: TraceReply
  readonly trails: readonly Trail[]
  /** Whether the trails are the full ones from the chains (else only the matched points). */
  readonly fullTrails: boolean
  readonly audit: AuditLine | undefined
  readonly auditError?: unknown
}

const DAY = 86_400_000
const MAP_LABEL = 'trails of the traced person and their contacts, meeting points circled'

/** A datetime-local input's value for an instant, in this browser's time zone. */
function localInput (ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000)
  return d.toISOString().slice(0, 16)
}

export function TraceScreen (props: { session: Session }): JSX.Element {
  const now = Date.now()
  const [userId, setUserId] = useState('')
  const [radius, setRadius] = useState('25')
  const [minutes, setMinutes] = useState('15')
  const [from, setFrom] = useState(localInput(now - 14 * DAY))
  const [to, setTo] = useState(localInput(now))
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const [result, setResult] = useState<TraceResult | undefined>(undefined)

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    setResult(undefined)
    try {
      const query: TraceQuery = {
        userId: userId.trim().toLowerCase(),
        since: new Date(from).toISOString(),
        until: new Date(to).toISOString(),
        radiusMetres: Number(radius),
        windowMinutes: Number(minutes)
      }
      const reply = await trace(props.session.token, query)
      // The audit line first: the reads of the trails below write lines of their own.
      let audit: AuditLine | undefined
      let auditError: unknown
      try {
        audit = await auditLineOf(props.session.token, `trace:${query.userId}`)
      } catch (err) {
        auditError = err
      }
      const { trails, full } = await trailsOf(props.session.token, query, reply)
      setResult({ query, reply, trails, fullTrails: full, audit, ...(auditError === undefined ? {} : { auditError }) })
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <>
      <Card title='Contact tracing' testId='trace'>
        <p class='muted'>
          Find everyone whose phone recorded a location within a distance and a time of a person's own locations.
          Every trace is written in this node's audit log, with your name on it.
        </p>
        <form onSubmit={(e) => { void submit(e) }}>
          <Field label='User id of the person' hint='The 32-character id of their chain (letters a–z and digits 2–7).'>
            <input name='user-id' autocomplete='off' spellcheck={false} value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
          </Field>
          <div class='grid-2'>
            <Field label='Distance (metres)' hint='How close counts as a contact.'>
              <input type='number' name='radius' min={1} max={10000} value={radius} onInput={(e) => setRadius(e.currentTarget.value)} />
            </Field>
            <Field label='Time apart (minutes)' hint='How far apart in time two points may be.'>
              <input type='number' name='minutes' min={0} max={1440} value={minutes} onInput={(e) => setMinutes(e.currentTarget.value)} />
            </Field>
            <Field label='From'>
              <input type='datetime-local' name='from' value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
            </Field>
            <Field label='To'>
              <input type='datetime-local' name='to' value={to} onInput={(e) => setTo(e.currentTarget.value)} />
            </Field>
          </div>
          {error !== undefined && <ErrorNotice error={error} testId='trace-error' />}
          <button type='submit' disabled={busy || userId.trim() === ''}>{busy ? 'Tracing…' : 'Trace contacts'}</button>
        </form>
      </Card>
      {busy && <Loading what='contacts and trails (this can take a few seconds)' />}
      {result !== undefined && <TraceResultView result={result} nodeName={props.session.node.name} />}
    </>
  )
}

function TraceResultView (props: { result: TraceResult, nodeName: string }): JSX.Element {
  const { query, reply, trails, audit } = props.result
  const contacts = reply.contacts
  const highlights: TrailPoint[] = contacts.flatMap((c) => c.matches.map((m) => ({ lat: m.mine.lat, lon: m.mine.lon, time: m.mine.time })))
  return (
    <>
      <Card title={`${contacts.length} ${contacts.length === 1 ? 'contact' : 'contacts'}`} testId='trace-result'>
        <p class='muted'>
          Within {query.radiusMetres} m and {query.windowMinutes} minutes of <ShortId id={query.userId} length={12} />,
          from {formatDateTime(query.since)} to {formatDateTime(query.until)}.
        </p>
        {contacts.length === 0
          ? <p data-testid='trace-empty'>No contacts: nobody's recorded location came this close in this window. Try a larger distance or time.</p>
          : (
              <div class='table-wrap'>
                <table data-testid='contacts-table'>
                  <thead>
                    <tr><th>contact</th><th class='num'>meetings</th><th class='num'>closest</th><th class='num'>time apart</th><th>first met</th></tr>
                  </thead>
                  <tbody>
                    {contacts.map((c) => {
                      const closest = Math.min(...c.matches.map((m) => m.distanceMetres))
                      const apart = Math.min(...c.matches.map((m) => m.minutesApart))
                      const first = Math.min(...c.matches.map((m) => Math.min(m.mine.time, m.theirs.time)))
                      return (
                        <tr key={c.userId} data-testid='contact-row' data-user={c.userId}>
                          <td><ShortId id={c.userId} length={14} /></td>
                          <td class='num' data-testid='meetings'>{c.matches.length}</td>
                          <td class='num' data-testid='closest'>{closest.toFixed(0)} m</td>
                          <td class='num'>{apart.toFixed(0)} min</td>
                          <td>{formatDateTime(first)}</td>
                        </tr>
                      )
                    })}
                  </tbody>
                </table>
              </div>
            )}
        {trails.some((t) => t.points.length > 0) && (
          <>
            <h3>Trails</h3>
            <TrailMap trails={trails} highlights={highlights} label={MAP_LABEL} testId='trace-map' />
            <p class='muted'>
              Circles: where they met.{' '}
              {props.result.fullTrails
                ? 'Trails: every location recorded in the window.'
                : 'Only the matched points are drawn: the full trails could not be read.'}
            </p>
          </>
        )}
      </Card>
      <Card title={`This query in the audit log of ${props.nodeName}`} testId='trace-audit'>
        {props.result.auditError !== undefined && <ErrorNotice error={props.result.auditError} testId='trace-audit-error' />}
        {props.result.auditError === undefined && audit === undefined && <Notice kind='warn'>The audit log has no line for this trace yet.</Notice>}
        {audit !== undefined && (
          <dl class='kv' data-testid='trace-audit-line'>
            <dt>line</dt><dd>#{audit.seq}</dd>
            <dt>who</dt><dd data-testid='audit-actor'><code class='id'>{audit.actor}</code>{audit.role === undefined ? '' : ` (${audit.role})`}</dd>
            <dt>when</dt><dd>{formatDateTime(audit.time)}</dd>
            <dt>did</dt><dd>{audit.action}</dd>
            <dt>about</dt><dd data-testid='audit-target'><code class='id'>{audit.target}</code></dd>
            <dt>result</dt>
            <dd data-testid='audit-result'>
              {audit.result === 'granted' ? <Badge kind='ok'>granted</Badge> : <Badge kind='bad'>{audit.result} {audit.code ?? ''}</Badge>}
            </dd>
            <dt>from</dt><dd class='muted'>{audit.from}</dd>
          </dl>
        )}
      </Card>
    </>
  )
}

/**
 * The traced person's trail and each contact's, from their chains' location
 * entries in the window; if any of those cannot be read, every trail falls
 * back to the points the trace matched (what the reply itself carries).
 */
async function trailsOf (token: string, query: TraceQuery, reply: TraceReply): Promise<{ trails: Trail[], full: boolean }> {
  const label = (prefix: string, id: string): string => `${prefix} ${id.slice(0, 8)}…`
  const people = [query.userId, ...reply.contacts.map((c) => c.userId)]
  try {
    const points = await Promise.all(people.map(async (id) => await locationPoints(token, id, query.since, query.until)))
    return {
      trails: people.map((id, i) => ({ label: i === 0 ? label('traced', id) : label('contact', id), points: points[i]! })),
      full: true
    }
  } catch {
    // One point may meet several contacts: each drawn once.
    const mine = new Map<string, LocationPoint>()
    for (const c of reply.contacts) for (const m of c.matches) mine.set(`${m.mine.seq} ${m.mine.time} ${m.mine.lat} ${m.mine.lon}`, m.mine)
    const byTime = (a: LocationPoint, b: LocationPoint): number => a.time - b.time
    return {
      trails: [
        { label: label('traced', query.userId), points: [...mine.values()].sort(byTime) },
        ...reply.contacts.map((c) => ({ label: label('contact', c.userId), points: c.matches.map((m) => m.theirs).sort(byTime) }))
      ],
      full: false
    }
  }
}
