/**
 * Hash routes (#/patient/timeline): the node serves one index.html, and a
 * reload or a shared link lands on the same screen without the server
 * knowing the console's routes.
 */
import { useEffect, useState } from 'preact/hooks'

export function currentRoute (): string {
  const hash = location.hash.replace(/^#/, '')
  return hash === '' ? '/' : hash
}

export function navigate (route: string): void {
  if (currentRoute() !== route) location.hash = route
}

export function useRoute (): string {
  const [route, setRoute] = useState(currentRoute())
  useEffect(() => {
    const listener = (): void => setRoute(currentRoute())
    addEventListener('hashchange', listener)
    return () => { removeEventListener('hashchange', listener) }
  }, [])
  return route
}
