import { NetError } from './errors.js'

/** `work`, or TIMEOUT after `ms`, or STOPPED once `signal` aborts — whichever comes first. */
export async function withTimeout<T> (work: Promise<T>, ms: number, what: string, signal: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new NetError('TIMEOUT', `${what} took longer than ${ms} ms`)), ms)
    onAbort = () => reject(new NetError('STOPPED', `${what} was stopped`, { cause: signal.reason }))
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  // The work may still fail after the race is decided: never leave that rejection unhandled.
  work.catch(() => {})
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
    signal.removeEventListener('abort', onAbort!)
  }
}
