/**
 * A restored node catches up before it writes.
 *
 * `healthchain restore` leaves `restored.json` in the data directory. While
 * it says the node has not caught up yet, every start holds writes to the
 * node's own chains (the net package's CatchUp: HTTP writes, forwarded
 * appends, moves answer CATCHING_UP) until `quorum` peers compared heads
 * with it and every own chain has fetched back what they hold longer. Then
 * `caughtUpAt` is written into the marker, so later starts do not hold. A
 * restart before that holds again: nothing of the catch-up is trusted that
 * was not written down.
 *
 * `acceptRestoredState` is the operator saying the restored state stands as
 * it is (every peer lost as well, say): `acceptedAt` is written and nothing
 * is held. A write at a position a peer holds another block for is then a
 * fork, reported against the institution: the flag's help says so.
 *
 * No second verification at start: `restore` verified every chain of the
 * store before it returned (and refuses with CHAIN_INVALID otherwise), and
 * every block fetched back is checked by `UserChain.ingest` as it arrives.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CatchUp, NetworkNode } from '@healthchain/net'
import { NodeError } from '../errors.js'
import { writeSecretFile } from '../secret-file.js'
import { RESTORED_MARKER } from './restore.js'

/** What `restored.json` records: the backup restored, and whether (and how) the node has caught up since. */
export interface RestoredMarker {
  readonly restoredAt: string
  readonly node: string
  readonly institution?: string
  readonly backupCreatedAt: string
  readonly chains: number
  /** When the node had compared heads with its peers and fetched back every own chain's later blocks. */
  readonly caughtUpAt?: string
  /** When the operator accepted the restored state without catching up (`--accept-restored-state`). */
  readonly acceptedAt?: string
}

export interface RestoreHoldOptions {
  /** Peers that must compare heads with the node before its own chains take writes; default 1. */
  readonly quorum?: number
  /** The operator accepts the restored state as it is: nothing is held. */
  readonly acceptRestoredState?: boolean
  /** Told once the hold ends because the node caught up (after the marker says so). */
  readonly onCaughtUp?: () => void
}

/** The marker in `dataDir`, or undefined when the directory was not restored from a backup. */
export async function readRestoredMarker (dataDir: string): Promise<RestoredMarker | undefined> {
  let text: string
  try {
    text = await readFile(join(dataDir, RESTORED_MARKER), 'utf8')
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new NodeError('DATA_FILE', `${RESTORED_MARKER} in the data directory cannot be read`, { cause })
  }
  try {
    return JSON.parse(text) as RestoredMarker
  } catch (cause) {
    throw new NodeError('DATA_FILE', `${RESTORED_MARKER} in the data directory is not JSON: restore again, or fix it by hand`, { cause })
  }
}

async function writeMarker (dataDir: string, marker: RestoredMarker): Promise<void> {
  await writeSecretFile(join(dataDir, RESTORED_MARKER), JSON.stringify(marker, null, 2) + '\n')
}

/**
 * Holds the node's own writes if its data directory was restored and has not caught up (nor been accepted) yet: the
 * hold, or undefined when nothing is held.
 */
export async function holdIfRestored (dataDir: string, network: NetworkNode, opts: RestoreHoldOptions = {}): Promise<CatchUp | undefined> {
  const marker = await readRestoredMarker(dataDir)
  if (marker === undefined || marker.caughtUpAt !== undefined || marker.acceptedAt !== undefined) return undefined
  if (opts.acceptRestoredState === true) {
    await writeMarker(dataDir, { ...marker, acceptedAt: new Date().toISOString() })
    return undefined
  }
  return network.holdOwnWrites({
    ...(opts.quorum === undefined ? {} : { quorum: opts.quorum }),
    onCaughtUp: () => {
      writeMarker(dataDir, { ...marker, caughtUpAt: new Date().toISOString() }).then(() => { opts.onCaughtUp?.() }, () => {
        // Not written (the disk): the next start holds again and catches up again, which is safe.
      })
    }
  })
}
