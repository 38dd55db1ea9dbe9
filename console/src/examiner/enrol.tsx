/**
 * Enrol a new patient: open a one-time ticket and show its code big, with
 * the link the patient opens on their own phone. The phone makes the keys
 * and enrols itself; this page only waits (polling the ticket) until the
 * node says the patient is enrolled, then links to their page. Staff never
 * see the patient's recovery phrase.
 */
import type { JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import type { EnrolmentTicket, TicketStatusReply } from '@healthchain/node/api'
import { isApiFailure } from '../api.js'
import { navigate } from '../router.js'
import type { Session } from '../session.js'
import { Card, ErrorNotice, Notice, formatDateTime } from '../ui/components.js'
import { openTicket, ticketStatus } from './api.js'

const POLL_MS = 2000

export function EnrolScreen (props: { session: Session }): JSX.Element {
  const [ticket, setTicket] = useState<EnrolmentTicket | undefined>(undefined)
  const [status, setStatus] = useState<TicketStatusReply | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const [pollError, setPollError] = useState<unknown>(undefined)

  const open = async (): Promise<void> => {
    setBusy(true)
    setError(undefined)
    setStatus(undefined)
    try {
      setTicket(await openTicket(props.session.token))
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  // Follow the ticket until it is enrolled or expired; a failed poll is said, and the next one tried.
  useEffect(() => {
    if (ticket === undefined) return
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const poll = async (): Promise<void> => {
      try {
        const now = await ticketStatus(props.session.token, ticket.code)
        if (stopped) return
        setStatus(now)
        setPollError(undefined)
        if (now.status !== 'pending') return
      } catch (err) {
        if (stopped) return
        // The node forgets a ticket once it is past use (or restarted): for staff, the code has simply expired.
        if (isApiFailure(err) && err.code === 'UNKNOWN_TICKET') {
          setStatus({ status: 'expired', expiresAt: ticket.expiresAt })
          return
        }
        setPollError(err)
      }
      timer = setTimeout(() => { void poll() }, POLL_MS)
    }
    void poll()
    return () => { stopped = true; clearTimeout(timer) }
  }, [ticket?.code])

  const link = ticket === undefined ? '' : `${location.origin}/#/join/${ticket.code}`
  return (
    <Card title='Enrol a new patient' testId='enrol'>
      {ticket === undefined
        ? (
            <>
              <p>
                The patient enrols on their own phone: it makes their keys and recovery phrase, which never leave it.
                You open a one-time code here and give it to them.
              </p>
              {error !== undefined && <ErrorNotice error={error} />}
              <button type='button' disabled={busy} onClick={() => { void open() }}>{busy ? 'Opening a code…' : 'Open an enrolment code'}</button>
            </>
          )
        : (
            <>
              <p>Give the patient this code, or let them open the link on their phone:</p>
              <p class='enrol-code' data-testid='enrol-code' aria-label='Enrolment code'>{ticket.code}</p>
              <p class='enrol-link'>
                <a href={link} data-testid='join-link' target='_blank' rel='noopener noreferrer'>{link}</a>
              </p>
              <p class='muted' data-testid='enrol-expiry'>
                Valid once, until {formatDateTime(ticket.expiresAt)}. The patient will be enrolled with {ticket.custodian}.
              </p>
              <TicketProgress status={status} />
              {pollError !== undefined && <ErrorNotice error={pollError} testId='enrol-poll-error' />}
              {status?.status === 'enrolled' && status.userId !== undefined && (
                <button type='button' onClick={() => navigate(`/examiner/patient/${status.userId ?? ''}`)}>Open the patient's page</button>
              )}
              {status?.status !== 'pending' && status !== undefined && (
                <button type='button' class='secondary' onClick={() => { void open() }}>Open another code</button>
              )}
            </>
          )}
    </Card>
  )
}

function TicketProgress (props: { status: TicketStatusReply | undefined }): JSX.Element {
  const { status } = props
  if (status === undefined) return <p class='loading' role='status'>Checking the code…</p>
  if (status.status === 'enrolled') {
    return <Notice kind='ok' testId='enrol-status'>Enrolled: <code class='id' data-testid='enrolled-user'>{status.userId}</code></Notice>
  }
  if (status.status === 'expired') {
    return <Notice kind='warn' testId='enrol-status'>This code expired (or the node no longer knows it) before the patient used it. Open another code.</Notice>
  }
  if (status.userId !== undefined) {
    return (
      <Notice kind='info' testId='enrol-status'>
        The patient's phone has the code and is saving their recovery phrase… (user id <code class='id'>{status.userId}</code>)
      </Notice>
    )
  }
  return <Notice kind='info' testId='enrol-status'>Waiting for the patient to enter the code on their phone…</Notice>
}
