import type Hypercore from 'hypercore'
import { decodeEntry } from '@healthchain/core'

/**
 * Downloads blocks [start, end) of a chain, except those its user erased: an
 * erasure entry names earlier positions whose data every node clears, so no
 * honest peer has them and a plain range download would wait for them for
 * ever. Done once every block of the range is here or named by an erasure
 * entry found in the range, or after it: when the core grows past `end`
 * while the range is not done (a newer head arrived), the new blocks are
 * fetched too, since the erasure that names a block still missing may
 * stand there. Which erasures count is only a hint for when to stop asking:
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
    if (block === null) return
    try {
      const entry = decodeEntry(new Uint8Array(block))
      if (entry.type === 'erasure') for (const target of entry.plain.entries) named.add(target)
    } catch {
      // Not an entry: ingest refuses it; it names nothing.
    }
  }
  const complete = (): boolean => missing.size <= named.size && [...missing].every((seq) => named.has(seq))
  // Listen first: a block that arrives during the scan below is counted once it lands.
  const arrived: number[] = []
  let onDownload = (index: number): void => { arrived.push(index) }
  const listener = (index: number): void => { onDownload(index) }
  const onAppend = (): void => {
    if (core.length <= beyond) return
    downloads.push(core.download({ start: beyond, end: core.length }))
    beyond = core.length
  }
  core.on('download', listener)
  core.on('append', onAppend)
  try {
    await new Promise<void>((resolve, reject) => {
      const check = async (index: number): Promise<void> => {
        if (index >= end) noteErasures(await core.get(index, { wait: false }))
        else if (index >= start && missing.delete(index)) noteErasures(await core.get(index, { wait: false }))
        if (complete()) resolve()
      }
      void (async () => {
        for (let seq = start; seq < end; seq++) {
          const block = await core.get(seq, { wait: false })
          if (block === null) missing.add(seq)
          else noteErasures(block)
        }
        for (const index of arrived.splice(0)) await check(index)
        onDownload = (index) => { check(index).catch(reject) }
        if (complete()) resolve()
      })().catch(reject)
      downloads[0]!.done().then(() => { resolve() }, reject)
    })
  } finally {
    core.off('download', listener)
    core.off('append', onAppend)
    for (const download of downloads) download.destroy()
  }
}
