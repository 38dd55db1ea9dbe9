/**
 * Find a patient: by their user id or its first characters (what the
 * patient reads out from their phone), among the chains this node holds.
 */
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import type { FindUsersReply } from '@healthchain/node/api'
import { navigate } from '../router.js'
import type { Session } from '../session.js'
import { Badge, Card, ErrorNotice, Field, Notice } from '../ui/components.js'
import { findUsers } from './api.js'

const PREFIX = /^[a-z2-7]{1,32}$/

export function PatientsScreen (props: { session: Session }): JSX.Element {
  const [query, setQuery] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const [problem, setProblem] = useState<string | undefined>(undefined)
  const [found, setFound] = useState<{ prefix: string, reply: FindUsersReply } | undefined>(undefined)

  const search = async (e: Event): Promise<void> => {
    e.preventDefault()
    const prefix = query.trim().toLowerCase().replace(/[\s-]/g, '')
    setError(undefined)
    setProblem(undefined)
    if (!PREFIX.test(prefix)) {
      setProblem('A user id has only the letters a–z and the digits 2–7 (at most 32 characters). Check what you typed.')
      return
    }
    setBusy(true)
    try {
      setFound({ prefix, reply: await findUsers(props.session.token, prefix) })
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <>
      <Card title='Find a patient' testId='find-patient'>
        <form onSubmit={(e) => { void search(e) }}>
          <Field label='User id' hint='The whole id, or its first characters, as the patient reads it from their phone.'>
            <input name='prefix' autocomplete='off' autocapitalize='off' spellcheck={false} value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
          </Field>
          {problem !== undefined && <Notice kind='warn' testId='find-problem'>{problem}</Notice>}
          {error !== undefined && <ErrorNotice error={error} />}
          <div class='row'>
            <button type='submit' disabled={busy || query.trim() === ''}>{busy ? 'Searching…' : 'Search'}</button>
            <a href='#/examiner/enrol'>Enrol a new patient instead</a>
          </div>
        </form>
      </Card>
      {found !== undefined && (
        <Card title={`Patients whose id starts with “${found.prefix}”`} testId='find-results'>
          {found.reply.users.length === 0
            ? (
                <p class='muted' data-testid='no-patients'>
                  No patient on this node has an id that starts like this. Check the characters, or enrol the patient.
                </p>
              )
            : (
                <div class='table-wrap'>
                  <table>
                    <thead><tr><th>user id</th><th>enrolled at</th><th class='num'>entries</th><th>state</th></tr></thead>
                    <tbody>
                      {found.reply.users.map((u) => (
                        <tr key={u.userId} data-testid='patient-row' class='clickable' onClick={() => navigate(`/examiner/patient/${u.userId}`)}>
                          <td><a href={`#/examiner/patient/${u.userId}`}><code class='id'>{u.userId}</code></a></td>
                          <td>{u.custodian}</td>
                          <td class='num'>{u.length}</td>
                          <td>
                            {u.forked
                              ? <Badge kind='bad' title='The enrolling institution signed two different histories'>forked</Badge>
                              : <Badge kind='ok'>consistent</Badge>}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
          {found.reply.users.length > 0 && <p class='muted'>{found.reply.users.length} found. Click a patient to open their record.</p>}
        </Card>
      )}
    </>
  )
}
