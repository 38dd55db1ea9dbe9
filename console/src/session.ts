/**
 * Who is signed in, for this tab only. Staff sessions (a bearer token from
 * an API key login) survive a reload in sessionStorage: a token is not
 * health data and ends when the tab does. A patient's keys never touch any
 * storage: they are derived from the phrase into memory, so a reload asks
 * for the phrase again.
 */
import type { SessionReply, StatusReply } from '@healthchain/node/api'
import type { UserKeys } from '@healthchain/core'
import { useEffect, useState } from 'preact/hooks'

export type Role = SessionReply['role']

export interface Session {
  readonly token: string
  readonly role: Role
  readonly subject: string
  readonly expiresAt: string
  /** The node this console is served by (from /v1/status at sign-in). */
  readonly node: { readonly name: string, readonly role: StatusReply['role'] }
  /** Only for a patient: keys derived in this tab from the recovery phrase, the generation in force (it signed the login). */
  readonly user?: UserKeys
  /** Only for a patient: every generation's keys up to the one in force (index = generation), to check old entries and open old seals. */
  readonly generations?: readonly UserKeys[]
}

const STORAGE_KEY = 'healthchain.staff-session'

let current: Session | undefined = restore()
/** Why the last session ended, for the sign-in screen to say (expired, signed out). */
let endedBecause: string | undefined
const listeners = new Set<() => void>()

function restore (): Session | undefined {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY)
    if (raw === null) return undefined
    const saved = JSON.parse(raw) as Session
    return Date.parse(saved.expiresAt) > Date.now() ? saved : undefined
  } catch {
    return undefined
  }
}

function notify (): void { for (const listener of listeners) listener() }

export function currentSession (): Session | undefined { return current }

export function startSession (session: Session): void {
  current = session
  endedBecause = undefined
  // A patient's session holds keys: never stored. Staff tokens are, for this tab.
  if (session.user === undefined) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session))
  else sessionStorage.removeItem(STORAGE_KEY)
  notify()
}

export function endSession (reason?: string): void {
  current = undefined
  endedBecause = reason
  sessionStorage.removeItem(STORAGE_KEY)
  notify()
}

export function whySessionEnded (): string | undefined { return endedBecause }

/** The current session, re-rendering the caller when it changes. */
export function useSession (): Session | undefined {
  const [, setTick] = useState(0)
  useEffect(() => {
    const listener = (): void => setTick((n) => n + 1)
    listeners.add(listener)
    return () => { listeners.delete(listener) }
  }, [])
  return current
}

/** The signed-in session; screens behind the sign-in use this. */
export function requireSession (): Session {
  if (current === undefined) throw new Error('no session')
  return current
}
