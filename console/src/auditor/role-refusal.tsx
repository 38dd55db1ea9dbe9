/**
 * A staff member who lands on another party's screen (a shared link, a
 * typed address: an analyst at #/examiner/…) is told that their role may
 * not open it, with the API's own FORBIDDEN code, rather than being moved
 * elsewhere without a word.
 */
import type { JSX } from 'preact'
import { ApiFailure } from '../api.js'
import type { Session } from '../session.js'
import { Card, ErrorNotice } from '../ui/components.js'

const PARTY_ROUTES: ReadonlyArray<readonly [prefix: string, who: string]> = [
  ['/patient', 'patients'], ['/examiner', 'examiner staff'], ['/analyst', 'inquirer analysts'], ['/auditor', 'regulator auditors']
]

/** Whose screens `route` opens, if it is another party's than `own` (a route prefix such as /analyst); undefined otherwise. */
export function otherPartyOf (route: string, own: string): string | undefined {
  const hit = PARTY_ROUTES.find(([prefix]) => prefix !== own && (route === prefix || route.startsWith(`${prefix}/`)))
  return hit?.[1]
}

export function RoleRefusal (props: { session: Session, who: string, home: string }): JSX.Element {
  const error = new ApiFailure('FORBIDDEN', `These screens are for ${props.who}; you are signed in as ${props.session.role}.`, 403)
  return (
    <Card title='Not for your role' testId='role-refusal'>
      <ErrorNotice error={error} testId='forbidden' />
      <p><a href={`#${props.home}`}>Back to your own screens</a></p>
    </Card>
  )
}
