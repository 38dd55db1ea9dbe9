/**
 * Examiner staff: find a patient, enrol a new one (the code they take home
 * on their phone), read a patient's history across institutions with a
 * chart per measurement and what this hospital may read sealed, and enter
 * exams (by hand or as FHIR).
 */
import type { Party } from '../party.js'
import { routeParams } from '../party.js'
import { EnrolScreen } from './enrol.js'
import { ExamScreen } from './exam-form.js'
import { PatientPage } from './patient-page.js'
import { PatientsScreen } from './patients.js'
import './examiner.css'

export const examiner: Party = {
  title: 'Examiner',
  nav: [{ route: '/examiner', label: 'Patients' }, { route: '/examiner/enrol', label: 'Enrol a patient' }],
  screen: (route, session) => {
    const params = routeParams(route, '/examiner')
    if (params === null) return null
    if (params.length === 0) return <PatientsScreen session={session} />
    if (params[0] === 'enrol' && params.length === 1) return <EnrolScreen session={session} />
    if (params[0] === 'patient' && params[1] !== undefined) {
      if (params.length === 2) return <PatientPage key={params[1]} session={session} userId={params[1]} />
      if (params.length === 3 && params[2] === 'exam') return <ExamScreen key={params[1]} session={session} userId={params[1]} />
    }
    return null
  }
}

/** The route of a patient's page. */
export const patientRoute = (userId: string): string => `/examiner/patient/${encodeURIComponent(userId)}`
