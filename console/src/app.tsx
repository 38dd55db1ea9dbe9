/**
 * The shell: who is signed in decides the party (patient, examiner staff,
 * inquirer analyst, regulator auditor); the hash route decides the screen.
 * A request refused with 401 ends the session and says so on the sign-in
 * screen; a node that stops answering is said in a banner, not a blank page.
 */
import type { JSX } from 'preact'
import { useEffect } from 'preact/hooks'
import { analyst } from './analyst/index.js'
import { whenSessionExpires } from './api.js'
import { AuditLogScreen } from './audit/audit-log.js'
import { auditor } from './auditor/index.js'
import { examiner } from './examiner/index.js'
import { JoinScreen } from './join/index.js'
import { LoginScreen, homeOf } from './login.js'
import { nodeStatus } from './node-api.js'
import type { Party } from './party.js'
import { patient } from './patient/index.js'
import { navigate, useRoute } from './router.js'
import { endSession, useSession, type Role } from './session.js'
import { useAsync } from './ui/async.js'
import { ErrorNotice } from './ui/components.js'

const PARTIES: Record<Role, Party> = { user: patient, examiner, inquirer: analyst, regulator: auditor }

export function App (): JSX.Element {
  const session = useSession()
  const route = useRoute()
  const status = useAsync(nodeStatus, [])
  useEffect(() => {
    whenSessionExpires(() => endSession('Your session has ended (it expired or was revoked). Sign in again.'))
    return () => whenSessionExpires(undefined)
  }, [])

  const nodeName = status.data?.name
  const header = (
    <header class='top'>
      <a class='brand' href='#/'><img src='/icon.svg' alt='' width={28} height={28} /> healthchain</a>
      <span class='node' data-testid='node-name'>
        {nodeName === undefined ? '' : session?.role === 'user' ? nodeName : `${nodeName} · ${status.data?.role ?? ''}`}
      </span>
      {session !== undefined && (
        <span class='who'>
          <span class='muted' data-testid='signed-in-as'>{session.role === 'user' ? 'patient' : session.role} {shorten(session.subject)}</span>
          <button type='button' class='link' onClick={() => { endSession('You signed out.'); navigate('/') }}>Sign out</button>
        </span>
      )}
    </header>
  )

  if (route === '/join' || route.startsWith('/join/')) {
    return <>{header}<main><JoinScreen /></main></>
  }
  if (session === undefined) {
    return (
      <>
        {header}
        <main>
          {status.status === 'failed' && <ErrorNotice error={status.error} testId='node-down' />}
          <LoginScreen nodeName={nodeName} />
        </main>
      </>
    )
  }
  const party = PARTIES[session.role]
  const staff = session.role !== 'user'
  let screen = route === '/audit' && staff ? <AuditLogScreen session={session} /> : party.screen(route, session)
  if (screen === null) {
    navigate(homeOf(session.role))
    screen = party.screen(homeOf(session.role), session)
  }
  return (
    <>
      {header}
      <nav class='tabs-nav' aria-label={party.title}>
        <span class='party'>{party.title}</span>
        {party.nav.map((item) => (
          <a key={item.route} href={`#${item.route}`} class={isActive(route, item.route, party) ? 'active' : ''}>{item.label}</a>
        ))}
        {staff && <a href='#/audit' class={route === '/audit' ? 'active' : ''}>Audit log</a>}
      </nav>
      <main>{screen}</main>
    </>
  )
}

/** The nav item whose route is the longest prefix of the current route is the active one. */
function isActive (route: string, itemRoute: string, party: Party): boolean {
  const matches = party.nav.filter((n) => route === n.route || route.startsWith(`${n.route}/`))
  const best = matches.sort((a, b) => b.route.length - a.route.length)[0]
  return best?.route === itemRoute
}

function shorten (subject: string): string {
  return subject.length > 14 ? `${subject.slice(0, 12)}…` : subject
}
