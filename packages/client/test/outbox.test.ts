/**
 * The outbox on a real Corestore on disk: items survive reopening in order,
 * with their ids and times; acknowledged items are gone after reopening;
 * refusals are kept until dismissed; an empty outbox is truncated; a
 * damaged record is refused, not skipped.
 */
import Corestore from 'corestore'
import { afterEach, describe, expect, it } from 'vitest'
import { buildUserEntry, bytesToHex, encodeEntryBody, type UnsignedEntry } from '@healthchain/core'
import type { Cleanup } from '../../../test/helpers/test-net.js'
import { OUTBOX_CORE, Outbox } from '../src/outbox.js'
import { crypto, tempDir } from './helpers.js'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

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
    let outbox = await Outbox.open(store)
    const entries = [steps(1), steps(2), steps(3)]
    const items = await outbox.enqueue(entries.slice(0, 2))
    await outbox.enqueue([entries[2]!])
    expect(items.map((i) => i.id)).toEqual(entries.slice(0, 2).map((e) => bytesToHex(e.id)))
    await outbox.markSent(items[0]!, 1)
    await outbox.close()
    await store.close()

    store = await openStore(dir)
    outbox = await Outbox.open(store)
    expect(outbox.pending().map((i) => i.id)).toEqual(entries.slice(1).map((e) => bytesToHex(e.id)))
    // The same unsigned entry, byte for byte: a resend is the same entry to the custodian.
    expect(outbox.pending().map((i) => bytesToHex(encodeEntryBody(i.entry)))).toEqual(entries.slice(1).map((e) => bytesToHex(encodeEntryBody(e))))
    await outbox.close()
    await store.close()
  })

  it('keeps refusals until dismissed, and truncates itself once nothing is left', async () => {
    const dir = await tempDir(cleanup)
    let store = await openStore(dir)
    let outbox = await Outbox.open(store)
    const [a, b] = await outbox.enqueue([steps(1), steps(2)])
    await outbox.markFailed(a!, 'BAD_ERASURE')
    await outbox.markSent(b!, 2)
    await outbox.compact()
    await outbox.close()
    await store.close()

    store = await openStore(dir)
    outbox = await Outbox.open(store)
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
    outbox = await Outbox.open(store)
    expect(outbox.pending().map((i) => i.id)).toEqual([c!.id])
    await outbox.close()
    await store.close()
  })

  it('refuses a damaged record instead of skipping it', async () => {
    const dir = await tempDir(cleanup)
    const store = await openStore(dir)
    const core = store.get({ name: OUTBOX_CORE, active: false })
    await core.ready()
    await core.append(new Uint8Array([0xa1, 0x61, 0x76, 0x02])) // { v: 2 }
    await core.close()
    await expect(Outbox.open(store)).rejects.toMatchObject({ code: 'DEVICE_STATE' })
    await store.close()
  })
})
