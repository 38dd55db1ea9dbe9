/**
 * The outbox on a real Corestore on disk: items survive reopening in order,
 * with their ids and times; acknowledged items are gone after reopening;
 * refusals are kept until dismissed; an empty outbox is truncated; a
 * damaged record is refused, not skipped. An acknowledged item's record is
 * cleared and its bytes leave the store's files at the next compaction, also
 * when a stop came in between.
 */
import Corestore from 'corestore'
import { afterEach, describe, expect, it } from 'vitest'
import { buildUserEntry, bytesToHex, encodeCanonical, encodeEntryBody, type UnsignedEntry } from '@healthchain/core'
import type { Cleanup } from '@healthchain/net/testing'
import { findOnDisk, markerText, textMarker } from '../../../test/helpers/disk-scan.js'
import { OUTBOX_CORE, Outbox, SCRUB_OWED_KEY } from '../src/outbox.js'
import { crypto, tempDir } from './helpers.js'
import { localCoresOf } from '@healthchain/ledger/testing'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** An exercise entry whose plain segment carries `marker`; `bulky` makes its record over 4 KiB (a blob in RocksDB). */
function marked (marker: string, bulky = false): UnsignedEntry {
  const now = Date.now()
  const filler = Array.from({ length: bulky ? 20 : 0 }, () => ({ code: '55423-8', value: 'y'.repeat(240) }))
  return buildUserEntry('exercise', { start: now - 1000, end: now, observations: [{ code: '55423-8', value: marker }, ...filler] }, {}, crypto)
}

function steps (n: number): UnsignedEntry {
  const now = Date.now()
  return buildUserEntry('exercise', { start: now - 1000, end: now, observations: [{ code: '55423-8', value: n, unit: '{steps}' }] }, {}, crypto)
}

async function openStore (dir: string): Promise<Corestore> {
  const store = new Corestore(dir, { active: false })
  await store.ready()
  return store
}

describe('outbox', () => {
  it('keeps unsent entries across reopening, in order, with their ids and content', async () => {
    const dir = await tempDir(cleanup)
    let store = await openStore(dir)
    let outbox = await Outbox.open(localCoresOf(store))
    const entries = [steps(1), steps(2), steps(3)]
    const items = await outbox.enqueue(entries.slice(0, 2))
    await outbox.enqueue([entries[2]!])
    expect(items.map((i) => i.id)).toEqual(entries.slice(0, 2).map((e) => bytesToHex(e.id)))
    await outbox.markSent(items[0]!, 1)
    await outbox.close()
    await store.close()

    store = await openStore(dir)
    outbox = await Outbox.open(localCoresOf(store))
    expect(outbox.pending().map((i) => i.id)).toEqual(entries.slice(1).map((e) => bytesToHex(e.id)))
    // The same unsigned entry, byte for byte: a resend is the same entry to the custodian.
    expect(outbox.pending().map((i) => bytesToHex(encodeEntryBody(i.entry)))).toEqual(entries.slice(1).map((e) => bytesToHex(encodeEntryBody(e))))
    await outbox.close()
    await store.close()
  })

  it('keeps refusals until dismissed, and truncates itself once nothing is left', async () => {
    const dir = await tempDir(cleanup)
    let store = await openStore(dir)
    let outbox = await Outbox.open(localCoresOf(store))
    const [a, b] = await outbox.enqueue([steps(1), steps(2)])
    await outbox.markFailed(a!, 'BAD_ERASURE')
    await outbox.markSent(b!, 2)
    await outbox.compact()
    await outbox.close()
    await store.close()

    store = await openStore(dir)
    outbox = await Outbox.open(localCoresOf(store))
    expect(outbox.pending()).toEqual([])
    expect(outbox.failed().map((f) => [f.id, f.code])).toEqual([[a!.id, 'BAD_ERASURE']])
    await outbox.dismissFailed()
    expect(outbox.failed()).toEqual([])
    const core = store.get({ name: OUTBOX_CORE, active: false })
    await core.ready()
    expect(core.length).toBe(0)
    await core.close()
    // After truncation the outbox works as new.
    const [c] = await outbox.enqueue([steps(3)])
    expect(c!.at).toBe(0)
    await outbox.close()
    await store.close()

    store = await openStore(dir)
    outbox = await Outbox.open(localCoresOf(store))
    expect(outbox.pending().map((i) => i.id)).toEqual([c!.id])
    await outbox.close()
    await store.close()
  })

  it('clears an acknowledged item\'s record, and compact() takes its bytes off the files while others wait', async () => {
    const dir = await tempDir(cleanup)
    let store = await openStore(dir)
    let outbox = await Outbox.open(localCoresOf(store))
    const [sent, waiting] = [markerText('SENT'), markerText('WAITING')]
    const [a, b] = await outbox.enqueue([marked(sent), marked(waiting, true)])
    // A restart: the records are in table and blob files now, not only in the memtable.
    await outbox.close()
    await store.close()
    store = await openStore(dir)
    outbox = await Outbox.open(localCoresOf(store))
    expect((await findOnDisk(dir, [textMarker(sent), textMarker(waiting)])).length).toBe(2)

    await outbox.markSent(a!, 3)
    await outbox.compact()
    expect(await findOnDisk(dir, [textMarker(sent)])).toEqual([])
    expect((await findOnDisk(dir, [textMarker(waiting)])).length).toBeGreaterThan(0)
    await outbox.close()
    await store.close()

    // A cleared record named by a `sent` record is not damage.
    store = await openStore(dir)
    outbox = await Outbox.open(localCoresOf(store))
    expect(outbox.pending().map((i) => i.id)).toEqual([b!.id])
    await outbox.markSent(outbox.pending()[0]!, 4)
    await outbox.compact()
    expect(await findOnDisk(dir, [textMarker(sent), textMarker(waiting)])).toEqual([])
    await outbox.close()
    await store.close()
  })

  it('finishes what a stop interrupted: a `sent` record without its clear, a clear without its scrub', async () => {
    const dir = await tempDir(cleanup)
    let store = await openStore(dir)
    let outbox = await Outbox.open(localCoresOf(store))
    const [first, second, kept] = [markerText('FIRST'), markerText('SECOND'), markerText('KEPT')]
    await outbox.enqueue([marked(first), marked(second, true), marked(kept, true)])
    await outbox.close()
    await store.close()

    // As a stop would leave them: item 0 acknowledged but its record not cleared; item 1 cleared, its scrub owed.
    store = await openStore(dir)
    let core = store.get({ name: OUTBOX_CORE, active: false })
    await core.ready()
    await core.append([encodeCanonical({ v: 1, kind: 'sent', at: 0, seq: 1 }), encodeCanonical({ v: 1, kind: 'sent', at: 1, seq: 2 })])
    await core.setUserData(SCRUB_OWED_KEY, new Uint8Array([1]))
    await core.clear(1)
    await core.close()
    await store.close()
    expect((await findOnDisk(dir, [textMarker(first), textMarker(second)])).length).toBe(2)

    store = await openStore(dir)
    outbox = await Outbox.open(localCoresOf(store))
    expect(outbox.pending()).toHaveLength(1)
    expect(await findOnDisk(dir, [textMarker(first), textMarker(second)])).toEqual([])
    expect((await findOnDisk(dir, [textMarker(kept)])).length).toBeGreaterThan(0)
    await outbox.close()
    core = store.get({ name: OUTBOX_CORE, active: false })
    await core.ready()
    expect(await core.getUserData(SCRUB_OWED_KEY)).toBeNull()
    await core.close()
    await store.close()
  })

  it('refuses a cleared record that no `sent` record names', async () => {
    const dir = await tempDir(cleanup)
    const store = await openStore(dir)
    const outbox = await Outbox.open(localCoresOf(store))
    await outbox.enqueue([steps(1), steps(2)])
    await outbox.close()
    const core = store.get({ name: OUTBOX_CORE, active: false })
    await core.ready()
    await core.clear(0)
    await core.close()
    await expect(Outbox.open(localCoresOf(store))).rejects.toMatchObject({ code: 'DEVICE_STATE' })
    await store.close()
  })

  it('refuses a damaged record instead of skipping it', async () => {
    const dir = await tempDir(cleanup)
    const store = await openStore(dir)
    const core = store.get({ name: OUTBOX_CORE, active: false })
    await core.ready()
    await core.append(new Uint8Array([0xa1, 0x61, 0x76, 0x02])) // { v: 2 }
    await core.close()
    await expect(Outbox.open(localCoresOf(store))).rejects.toMatchObject({ code: 'DEVICE_STATE' })
    await store.close()
  })
})
