/**
 * Opening the store of a node that is not running, for the offline
 * commands (verify, reindex): a running node holds the store's lock, so the
 * caller says what to do instead (`whenRunning`).
 */
import { existsSync } from 'node:fs'
import { Ledger, LedgerError } from '@healthchain/ledger'
import { dataDirLayout, type DataDirLayout } from '../data-dir.js'
import { CliError } from './errors.js'

export async function openStoppedLedger (dir: string, whenRunning: string): Promise<{ ledger: Ledger, layout: DataDirLayout }> {
  const layout = dataDirLayout(dir)
  if (!existsSync(layout.store)) throw new CliError('NOT_A_DATA_DIR', `${dir} is not a node data directory (no store/)`)
  let ledger: Ledger
  try {
    ledger = await Ledger.open({ dir: layout.store })
  } catch (err) {
    if (err instanceof LedgerError && err.code === 'STORE_LOCKED') {
      throw new CliError('STORE_LOCKED', `the node using ${dir} is running: ${whenRunning}`, { cause: err })
    }
    throw err
  }
  if (!ledger.hasRegistry) {
    await ledger.close()
    throw new CliError('BAD_REGISTRY', `${dir} has no registry: the node never joined a consortium`)
  }
  return { ledger, layout }
}
