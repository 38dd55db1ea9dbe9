/** Inquirer analysts: statistics across institutions, contact tracing. */
import { RoleRefusal, otherPartyOf } from '../auditor/role-refusal.js'
import type { Party } from '../party.js'
import { StatisticsScreen } from './statistics.js'
import { TraceScreen } from './trace.js'

export const analyst: Party = {
  title: 'Analyst',
  nav: [{ route: '/analyst', label: 'Statistics' }, { route: '/analyst/trace', label: 'Contact tracing' }],
  screen: (route, session) => {
    if (route === '/analyst/trace') return <TraceScreen session={session} />
    if (route === '/analyst') return <StatisticsScreen session={session} />
    const other = otherPartyOf(route, '/analyst')
    return other === undefined ? null : <RoleRefusal session={session} who={other} home='/analyst' />
  }
}
