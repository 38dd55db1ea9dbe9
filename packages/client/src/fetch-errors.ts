/**
 * Net's errors from finding and fetching the user's chain, as the client's
 * codes (sending has its own judge in sender.ts: there a refusal may be
 * about the entry).
 */
import { NetError } from '@healthchain/net'
import { ClientError } from './errors.js'

/**
 * Errors from asking the nodes for the chain (`findChainKey`). Every node
 * refusing (NOT_ADMITTED, UNKNOWN_CHAIN) means none of them holds a chain
 * of this user: not enrolled, as far as these nodes know.
 */
export function discoveryError (err: unknown, connected: boolean): ClientError {
  if (err instanceof NetError) {
    if (err.code === 'NO_PEER' || (!connected && err.code === 'TIMEOUT')) return new ClientError('NOT_CONNECTED', 'no node is connected', { cause: err })
    if (err.code === 'REFUSED' && (err.remoteCode === 'NOT_ADMITTED' || err.remoteCode === 'UNKNOWN_CHAIN')) {
      return new ClientError('NOT_ENROLLED', 'no connected node holds a chain of this user', { remoteCode: err.remoteCode, cause: err })
    }
    if (err.code === 'TIMEOUT') return new ClientError('TIMEOUT', 'no connected node named the chain in time', { cause: err })
    if (err.code === 'STOPPED') return new ClientError('CLOSED', 'the client stopped', { cause: err })
    if (err.code === 'REFUSED') return new ClientError('NETWORK', 'the nodes could not name the chain', { remoteCode: err.remoteCode, cause: err })
  }
  return new ClientError('NETWORK', 'asking the nodes for the chain failed', { cause: err })
}

/**
 * Errors from fetching. While probing block 0 a timeout means nobody serves
 * that chain to this user: nodes never pair a light peer with another
 * user's chain, they just stay silent.
 */
export function fetchError (err: unknown, connected: boolean, opts: { probe: boolean }): ClientError {
  if (err instanceof ClientError) return err
  if (err instanceof NetError) {
    if (!connected && (err.code === 'TIMEOUT' || err.code === 'NO_PEER')) return new ClientError('NOT_CONNECTED', 'the node went away', { cause: err })
    if (err.code === 'TIMEOUT') {
      return opts.probe
        ? new ClientError('CHAIN_NOT_SERVED', 'no connected node served the chain in time (a wrong chain key, or a node that does not hold it)', { cause: err })
        : new ClientError('TIMEOUT', err.message, { cause: err })
    }
    if (err.code === 'NO_PEER') return new ClientError('CHAIN_NOT_SERVED', err.message, { cause: err })
    if (err.code === 'INVALID_FIELD') return new ClientError('NOT_OWN_CHAIN', 'that chain is not the one this device holds', { field: 'chainKey', cause: err })
    if (err.code === 'STOPPED') return new ClientError('CLOSED', 'the client stopped', { cause: err })
    // The message says how many cosignatures the best head had and how many are needed (witness.ts, light-peer.ts).
    if (err.code === 'NO_QUORUM') return new ClientError('NO_QUORUM', err.message, { cause: err })
  }
  return new ClientError('NETWORK', 'fetching the chain failed', { cause: err })
}
