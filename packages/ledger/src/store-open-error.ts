import { LedgerError } from './errors.js'

/** Corestore's and RocksDB's refusals to open a store, as typed errors saying what to do. */
export function storeOpenError (err: unknown, dir: string): unknown {
  if (err instanceof LedgerError) return err
  const code = (err as { code?: unknown } | null)?.code
  const message = err instanceof Error ? err.message : ''
  if (code === 'DEVICE_FILE') {
    return new LedgerError('STORE_MOVED', `the store in ${dir} was copied or moved from another disk or machine (${message}): a cloned store is refused so that two nodes never write one chain — start a new node and let it replicate instead`, { cause: err })
  }
  // RocksDB's words when another process (or Ledger) holds the directory.
  if (/could not be locked/i.test(message)) {
    return new LedgerError('STORE_LOCKED', `the store in ${dir} is already open in another process; stop that node first`, { cause: err })
  }
  return err
}
