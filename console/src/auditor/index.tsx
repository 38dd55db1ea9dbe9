/** Regulator auditors: the network, forks, cosigned heads, chain verification. */
import type { Party } from '../party.js'
import { Card } from '../ui/components.js'

export const auditor: Party = {
  title: 'Regulator',
  nav: [{ route: '/auditor', label: 'Network' }],
  screen: (route) => route.startsWith('/auditor') ? <Card title='Network'>The network.</Card> : null
}
