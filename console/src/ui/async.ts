/**
 * useAsync: a load with its three states (loading, failed, loaded) and a
 * reload, so every screen shows progress and failures the same way.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'

export type AsyncState<T> =
  | { readonly status: 'loading', readonly data?: T }
  | { readonly status: 'failed', readonly error: unknown, readonly data?: T }
  | { readonly status: 'loaded', readonly data: T }

export function useAsync<T> (load: () => Promise<T>, deps: readonly unknown[]): AsyncState<T> & { reload: () => void } {
  const [state, setState] = useState<AsyncState<T>>({ status: 'loading' })
  const [tick, setTick] = useState(0)
  const generation = useRef(0)
  useEffect(() => {
    const mine = ++generation.current
    setState((before) => ({ status: 'loading', ...(before.data === undefined ? {} : { data: before.data }) }))
    load().then(
      (data) => { if (mine === generation.current) setState({ status: 'loaded', data }) },
      (error: unknown) => {
        if (mine === generation.current) setState((before) => ({ status: 'failed', error, ...(before.data === undefined ? {} : { data: before.data }) }))
      }
    )
  }, [...deps, tick])
  const reload = useCallback(() => setTick((n) => n + 1), [])
  return { ...state, reload }
}
