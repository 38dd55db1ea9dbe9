/** The patient's console: their own chain, read and checked on this device. */
import type { Party } from '../party.js'
import { Card } from '../ui/components.js'

export const patient: Party = {
  title: 'My health record',
  nav: [{ route: '/patient', label: 'Timeline' }],
  screen: (route) => route.startsWith('/patient') ? <Card title='Timeline'>Your chain will appear here.</Card> : null
}
