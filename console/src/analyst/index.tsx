/** Inquirer analysts: statistics across institutions, contact tracing. */
import type { Party } from '../party.js'
import { StatisticsScreen } from './statistics.js'
import { TraceScreen } from './trace.js'

export const analyst: Party = {
  title: 'Analyst',
  nav: [{ route: '/analyst', label: 'Statistics' }, { route: '/analyst/trace', label: 'Contact tracing' }],
  screen: (route, session) => {
    if (route === '/analyst/trace') return <TraceScreen session={session} />
    if (route === '/analyst') return <StatisticsScreen session={session} />
    return null
  }
}
