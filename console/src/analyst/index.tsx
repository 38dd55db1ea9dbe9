/** Inquirer analysts: statistics across institutions, contact tracing. */
import type { Party } from '../party.js'
import { Card } from '../ui/components.js'

export const analyst: Party = {
  title: 'Analyst',
  nav: [{ route: '/analyst', label: 'Statistics' }],
  screen: (route) => route.startsWith('/analyst') ? <Card title='Statistics'>Statistics.</Card> : null
}
