/**
 * What each party's part of the console gives the shell: its navigation and
 * the screen for a route. Each party lives in its own folder (patient/,
 * examiner/, analyst/, auditor/) behind this one shape.
 */
import type { JSX } from 'preact'
import type { Session } from './session.js'

export interface NavItem {
  readonly route: string
  readonly label: string
}

export interface Party {
  /** Heading over the navigation: who this console is for. */
  readonly title: string
  readonly nav: readonly NavItem[]
  /** The screen for `route` (a hash route such as /patient/timeline), or null if the route is not this party's. */
  readonly screen: (route: string, session: Session) => JSX.Element | null
}

/** The route's path segments after `prefix` (/examiner/patient/ABC → ['ABC']), or null when it does not start with it. */
export function routeParams (route: string, prefix: string): string[] | null {
  if (route !== prefix && !route.startsWith(`${prefix}/`)) return null
  return route.slice(prefix.length).split('/').filter((s) => s !== '').map(decodeURIComponent)
}
