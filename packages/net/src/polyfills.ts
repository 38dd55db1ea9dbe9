/**
 * What libp2p 3 needs from the runtime that Node 20 lacks (Node 22 and later
 * have both): `Promise.withResolvers`, and a global `WebSocket` for the
 * WebSockets transport's dialer. Imported first by every entry point of
 * @healthchain/net; a no-op where the runtime already has them.
 */
import { WebSocket as WsWebSocket } from 'ws'

if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T> () {
      let resolve!: (value: T | PromiseLike<T>) => void
      let reject!: (reason?: unknown) => void
      const promise = new Promise<T>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
      return { promise, resolve, reject }
    }
  })
}

if (typeof globalThis.WebSocket === 'undefined') {
  Object.defineProperty(globalThis, 'WebSocket', { configurable: true, writable: true, value: WsWebSocket })
}

export {}
