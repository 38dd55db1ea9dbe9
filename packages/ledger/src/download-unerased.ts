import type Hypercore from 'hypercore'
import { decodeEntry } from '@healthchain/core'
import { LedgerError } from './errors.js'
import { readBlocks, readBlocksAt } from './tree-audit.js'

/** How the type `erasure` is written in an entry (canonical CBOR: a text string of 7 bytes): a block without it names nothing. */
const ERASURE_TYPE = Buffer.from([0x67, ...Buffer.from('erasure', 'ascii')])

/** Whether a block may be an erasure entry: only those are decoded (most blocks are not, and decoding is most of the cost). */
export function mayBeErasure (block: Uint8Array): boolean {
  return Buffer.from(block.buffer, block.byteOffset, block.byteLength).indexOf(ERASURE_TYPE) !== -1
}

/** Blocks looked at in one storage batch while the range is first scanned. */
const SCAN_BATCH = 1024

/**
 * Downloads blocks [start, end) of a chain, except those its user erased: an
 * erasure entry names earlier positions whose data every node clears, so no
 * honest peer has them and a plain range download would wait for them for
 * ever. Done once every block of the range is here or named by an erasure
 * entry found in the range, or after it: the blocks after `end` already
 * here are looked at, and when the core grows past `end` while the range is
 * not done (a newer head arrived), the new blocks are fetched too, since the
 * erasure that names a block still missing may stand there. Which erasures
 * count is only a hint for when to stop asking:
 * `UserChain.ingest` passes over an absent block only for an erasure the
 * user signed, and checks every erasure with every rule.
 */
export async function downloadUnerased (core: Hypercore, start: number, end: number): Promise<void> {
  // Not `linear`: Hypercore's in-order download transfers at a third of the rate of its default one (the net bench's replication
  // figures), which costs more than the in-order arrival wins (a replica checks blocks in chain order, so only the part from
  // the start can be checked while the rest transfers).
  const downloads = [core.download({ start, end })]
  const missing = new Set<number>()
  const named = new Set<number>()
  /** Blocks at or after `end` being fetched to look for erasures. */
  let beyond = end
  const noteErasures = (block: Uint8Array | null): void => {
    if (block === null || !mayBeErasure(block)) return
    try {
      const entry = decodeEntry(new Uint8Array(block))
      if (entry.type === 'erasure') for (const target of entry.plain.entries) named.add(target)
    } catch {
      // Not an entry: ingest refuses it; it names nothing.
    }
  }
  const complete = (): boolean => missing.size <= named.size && [...missing].every((seq) => named.has(seq))
  // Listen first: a block that arrives during the scan below is counted once it lands. Arrivals are read in one storage
  // batch per turn of the event loop, not one read each: the transfer needs the calling thread.
  let scanned = false
  let arrived: number[] = []
  let reading: Promise<void> | undefined
  let fail: (err: unknown) => void = () => {}
  let done: () => void = () => {}
  const readArrivals = async (): Promise<void> => {
    await new Promise<void>((resolve) => setImmediate(resolve))
    const batch = arrived
    arrived = []
    reading = undefined
    const toRead = batch.filter((index) => index >= end || (index >= start && missing.delete(index)))
    for (const block of await readBlocksAt(core, toRead)) noteErasures(block)
    if (complete()) done()
  }
  const listener = (index: number): void => {
    arrived.push(index)
    if (scanned && reading === undefined) reading = readArrivals().catch((err) => { fail(err) })
  }
  const onAppend = (): void => {
    if (core.length <= beyond) return
    downloads.push(core.download({ start: beyond, end: core.length }))
    beyond = core.length
  }
  core.on('download', listener)
  core.on('append', onAppend)
  try {
    await new Promise<void>((resolve, reject) => {
      done = resolve
      fail = reject
      void (async () => {
        // The blocks after the range the core already has may hold the erasure too (no 'download' or 'append' comes for them).
        const scanEnd = Math.max(end, core.length)
        for (let from = start; from < scanEnd; from += SCAN_BATCH) {
          // A fetch's range is mostly absent: no second look per absent block. One that lands meanwhile comes as an arrival.
          const blocks = await readBlocks(core, from, Math.min(scanEnd, from + SCAN_BATCH), { recheck: false })
          blocks.forEach((block, i) => {
            if (block === null) {
              if (from + i < end) missing.add(from + i)
            } else noteErasures(block)
          })
        }
        scanned = true
        // Arrivals during the scan: those it found here are no longer missing, so they are not read twice.
        if (arrived.length > 0) reading = readArrivals().catch(reject)
        if (complete()) resolve()
      })().catch(reject)
      // False: the request was cancelled (the core closed), not done; the range is not here.
      downloads[0]!.done().then((here) => {
        if (here === false) reject(new LedgerError('CLOSED', 'the core was closed before the range was downloaded'))
        else resolve()
      }, reject)
    })
  } finally {
    core.off('download', listener)
    core.off('append', onAppend)
    for (const download of downloads) download.destroy()
  }
}
