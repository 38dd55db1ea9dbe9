/** Examiner staff: find and enrol patients, enter exams, read their history. */
import type { Party } from '../party.js'
import { Card } from '../ui/components.js'

export const examiner: Party = {
  title: 'Examiner',
  nav: [{ route: '/examiner', label: 'Patients' }],
  screen: (route) => route.startsWith('/examiner') ? <Card title='Patients'>Find a patient.</Card> : null
}
