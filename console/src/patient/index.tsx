/**
 * The patient's console: their own chain, read and checked on this device.
 * Keys live in this tab's memory (from the recovery phrase); sealed parts
 * are opened here; writes are signed here, and kept on this device while
 * the node does not answer (the one thing the console ever stores).
 *
 *   /patient           timeline, every entry checked, the signed head
 *   /patient/measures  measurements over the years, reference ranges
 *   /patient/exercise  steps, distance, energy by day and week
 *   /patient/places    location trails by day
 *   /patient/write     exercise, a place, GPX and CSV import
 *   /patient/consent   who reads sealed results; grant, withdraw
 *   /patient/erase     erasure of chosen entries
 *   /patient/custody   move the record to this node; renew the keys
 */
import type { JSX } from 'preact'
import type { Party } from '../party.js'
import { routeParams } from '../party.js'
import type { Session } from '../session.js'
import { Notice } from '../ui/components.js'
import { ConsentScreen } from './consent.js'
import { CustodyScreen } from './custody.js'
import { EraseScreen } from './erase.js'
import { ExerciseScreen } from './exercise.js'
import { MeasuresScreen } from './measures.js'
import { PlacesScreen } from './places.js'
import { TimelineScreen } from './timeline.js'
import { WriteScreen } from './write.js'
import { useOutboxSender } from './writes.js'

const SCREENS: Record<string, (props: { session: Session }) => JSX.Element> = {
  '': TimelineScreen,
  measures: MeasuresScreen,
  exercise: ExerciseScreen,
  places: PlacesScreen,
  write: WriteScreen,
  consent: ConsentScreen,
  erase: EraseScreen,
  custody: CustodyScreen
}

function OutboxBanner (props: { userId: string }): JSX.Element | null {
  const outbox = useOutboxSender(props.userId)
  if (outbox.waiting === 0 && !outbox.unreachable) return null
  return (
    <Notice kind='warn' testId='outbox'>
      {outbox.unreachable && <strong data-testid='node-unreachable'>The node does not answer. </strong>}
      {outbox.waiting > 0
        ? <span data-testid='waiting'>Waiting to send ({outbox.waiting}): kept on this device, sent when the node answers again.</span>
        : 'Trying again every few seconds.'}
    </Notice>
  )
}

function PatientScreen (props: { session: Session, page: string }): JSX.Element {
  const Screen = SCREENS[props.page] ?? TimelineScreen
  const userId = props.session.user?.userId
  if (userId === undefined) return <Notice kind='error'>Sign in with your recovery phrase to see your record.</Notice>
  return (
    <>
      <OutboxBanner userId={userId} />
      <Screen session={props.session} />
    </>
  )
}

export const patient: Party = {
  title: 'My health record',
  nav: [
    { route: '/patient', label: 'Timeline' },
    { route: '/patient/measures', label: 'Measurements' },
    { route: '/patient/exercise', label: 'Exercise' },
    { route: '/patient/places', label: 'Places' },
    { route: '/patient/write', label: 'Write' },
    { route: '/patient/consent', label: 'Consent' },
    { route: '/patient/erase', label: 'Erase' },
    { route: '/patient/custody', label: 'Custody' }
  ],
  screen: (route, session) => {
    const params = routeParams(route, '/patient')
    if (params === null || params.length > 1 || !((params[0] ?? '') in SCREENS)) return null
    return <PatientScreen session={session} page={params[0] ?? ''} />
  }
}
