/**
 * Erasure on disk: once a user's erasure is applied, the erased entries'
 * plain segments are nowhere in the ledger's directory — not in RocksDB's
 * table (.sst) or blob (.blob) files, not in its write-ahead log (.log) —
 * after the ledger is closed, and again after it is reopened and closed.
 * Entries kept are still there (so the scan would find what it looks for).
 *
 * Entries are written on both sides of a restart, so the erased bytes sit in
 * each place RocksDB keeps a value: flushed to table files and, for values
 * of 4 KiB or more, to blob files (a restart flushes the memtable); and in
 * the memtable and the write-ahead log (written after the restart).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import { buildErasure, buildUserEntry, encodeEntry, type Observation, type UnsignedEntry, type UserKeys } from '@healthchain/core'
import type { Ledger, UserChain } from '../src/index.js'
import { appendUser, crypto, enrol, makeConsortium, newUser, signAs, writeExam, type TestConsortium } from './helpers/consortium.js'
import { doubleMarker, findOnDisk, markerText, randomCoordinate, textMarker, type Marker } from '../../../test/helpers/disk-scan.js'

let c: TestConsortium
let user: UserKeys

const T0 = Date.UTC(2026, 0, 1)

beforeEach(async () => {
  c = await makeConsortium()
  user = newUser()
})
afterEach(async () => { await c.cleanup() })

/** Text observations that make an entry's block 4 KiB or more: RocksDB keeps such values in blob files. */
function bulkyObservations (marker: string, count = 24): Observation[] {
  return Array.from({ length: count }, (_, i) => ({ code: '8251-1', value: `${marker} note ${i} ${'x'.repeat(200)}` }))
}

function exercise (marker: string, extra: Observation[] = []): UnsignedEntry {
  return buildUserEntry('exercise', { start: T0, end: T0 + 60_000, observations: [{ code: '55423-8', value: marker }, ...extra].slice(0, 32) }, { time: T0 }, crypto)
}

/** A location batch of `count` points; the first point's latitude is the marker. */
function location (lat: number, count: number): UnsignedEntry {
  const points = Array.from({ length: count }, (_, i) => ({
    lat: i === 0 ? lat : randomCoordinate(-80, 80), lon: randomCoordinate(-170, 170), acc: 5, time: T0 + i * 1000
  }))
  return buildUserEntry('location', { points }, { time: T0 }, crypto)
}

/** Writes one of each kind of erasable entry, small and bulky; returns their positions and markers. */
async function writeMarked (ledger: Ledger, chain: UserChain, tag: string): Promise<{ seqs: number[], markers: Marker[] }> {
  const small = markerText(`${tag}-EXAM`)
  const bulky = markerText(`${tag}-BULKY-EXAM`)
  const move = markerText(`${tag}-EXERCISE`)
  const bulkyMove = markerText(`${tag}-BULKY-EXERCISE`)
  const lat = randomCoordinate(-80, 80)
  const lat2 = randomCoordinate(-80, 80)
  const seqs = [
    await writeExam(ledger, chain, c.institutions.hospitalA, { plain: { title: small, observations: [{ code: '8480-6', value: 120, unit: 'mm[Hg]' }] } }),
    await writeExam(ledger, chain, c.institutions.hospitalA, { plain: { title: bulky, observations: bulkyObservations(bulky) } }),
    (await appendUser(chain, user, exercise(move))).seq,
    (await appendUser(chain, user, exercise(bulkyMove, bulkyObservations(bulkyMove)))).seq,
    (await appendUser(chain, user, location(lat, 3))).seq,
    (await appendUser(chain, user, location(lat2, 200))).seq
  ]
  const markers = [textMarker(small), textMarker(bulky), textMarker(move), textMarker(bulkyMove), doubleMarker(`${tag} small location`, lat), doubleMarker(`${tag} bulky location`, lat2)]
  return { seqs, markers }
}

async function reopenChain (): Promise<UserChain> {
  const ledger = await c.reopen()
  return await ledger.chain(user.userId)
}

describe('erasure on disk', () => {
  it('leaves no byte of the erased entries in any file of the ledger, after a close and after a reopen', async () => {
    let chain = await enrol(c.ledger, user)
    const kept = markerText('KEEP')
    await writeExam(c.ledger, chain, c.institutions.hospitalA, { plain: { title: kept, observations: [] } })
    const before = await writeMarked(c.ledger, chain, 'FLUSHED')
    // A restart: what was written so far is flushed from the memtable to table and blob files.
    await c.ledger.close()
    chain = await reopenChain()
    const after = await writeMarked(c.ledger, chain, 'FRESH')
    const erased = [...before.markers, ...after.markers]

    // The control: every marker is on disk before the erasure, so the scan can see them.
    const found = await findOnDisk(c.ledgerDir, [...erased, textMarker(kept)])
    expect(new Set(found.map((h) => h.marker))).toEqual(new Set([...erased.map((m) => m.name), kept]))
    expect(found.some((h) => h.file.endsWith('.blob')), 'bulky entries are in blob files').toBe(true)
    expect(found.some((h) => h.file.endsWith('.sst')), 'flushed entries are in table files').toBe(true)
    expect(found.some((h) => h.file.endsWith('.log')), 'fresh entries are in the write-ahead log').toBe(true)

    const positions = [...before.seqs, ...after.seqs]
    await appendUser(chain, user, buildErasure(positions, {}, crypto))
    // The bulky entries' blob file goes with a whole-store sweep, in the background.
    await c.ledger.scrubsSettled()
    expect(await findOnDisk(c.ledgerDir, erased), 'while the ledger runs, once its scrubs settle').toEqual([])
    await c.ledger.close()
    expect(await findOnDisk(c.ledgerDir, erased), 'after the erasure and a close').toEqual([])

    chain = await reopenChain()
    for (const seq of positions) expect(await chain.get(seq)).toBeNull()
    expect((await chain.read({ types: ['exam'] }))[0]?.entry.plain).toMatchObject({ title: kept })
    expect(await c.ledger.verify(user.userId)).toMatchObject({ valid: true, missing: [] })
    await c.ledger.close()
    expect(await findOnDisk(c.ledgerDir, erased), 'after a reopen and a close').toEqual([])
    expect((await findOnDisk(c.ledgerDir, [textMarker(kept)])).length).toBeGreaterThan(0)
  })

  it('scrubs an erasure that a crash left appended but not applied, when the chain is next opened', async () => {
    let chain = await enrol(c.ledger, user)
    const { seqs, markers } = await writeMarked(c.ledger, chain, 'CRASH')
    await c.ledger.close()
    chain = await reopenChain()
    // The erasure block is on disk, but nothing cleared its targets (as if the process died in between).
    const seq = chain.length
    await coreOf(chain).append(encodeEntry(signAs(user, buildErasure(seqs, {}, crypto), chain.key, seq)))
    await c.ledger.close()
    expect((await findOnDisk(c.ledgerDir, markers)).length).toBeGreaterThan(0)

    chain = await reopenChain()
    for (const target of seqs) expect(await chain.get(target)).toBeNull()
    await c.ledger.close()
    expect(await findOnDisk(c.ledgerDir, markers)).toEqual([])
  })
})
