/** The patient's side of enrolment (a code from the hospital): built in its own part. */
import type { JSX } from 'preact'
import { Card } from '../ui/components.js'

export function JoinScreen (): JSX.Element {
  return <Card title='Start your record'>Ask your hospital for a code.</Card>
}
