/**
 * The audit log on a real Corestore: lines in order, group-committed under
 * load, surviving a reopen; verification of the signed tree catching a line
 * rewritten on disk, and an anchor catching a history the key holder
 * rewrote and re-signed.
 */
import { join } from 'node:path'
import Corestore from 'corestore'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AuditLog, encodeAuditLine, type AuditLineInput } from '../src/index.js'
import { expectCode, fakeClock, makeTempDir, overwriteBlock, removeDir } from './helpers/fixtures.js'
import Hypercore from 'hypercore'
import { Ledger } from '@healthchain/ledger'
import { localCoresOf, storeOf } from '@healthchain/ledger/testing'

let dir: string
let store: Corestore
beforeEach(async () => {
  dir = await makeTempDir()
  store = new Corestore(join(dir, 'store'))
  await store.ready()
})
afterEach(async () => {
  await store.close()
  await removeDir(dir)
})

const line = (n: number, extra: Partial<AuditLineInput> = {}): AuditLineInput => ({
  actor: 'key:0123456789abcdef', role: 'examiner', action: 'read', target: `item-${n}`, from: '127.0.0.1', result: 'granted', ...extra
})

describe('audit log', () => {
  it('keeps the history of a store written when the log was named audit-log, and a new store uses local/audit-log', async () => {
    // The log as an older node wrote it: the store's named core `audit-log`.
    const former = { localCore: async () => { const core = store.get({ name: 'audit-log', active: false }); await core.ready(); return core } }
    const old = await AuditLog.open(former)
    for (let i = 0; i < 3; i++) await old.append(line(i))
    const oldKey = old.key
    await old.close()
    await store.close()

    // Opened through the ledger of that data directory, the log is the old core, its lines intact and verifying.
    const ledger = await Ledger.open({ dir: join(dir, 'store'), verifyWorkers: 0 })
    try {
      const log = await AuditLog.open(ledger)
      expect(Buffer.from(log.key).equals(Buffer.from(oldKey))).toBe(true)
      expect((await log.read()).map((l) => l.line.target)).toEqual(['item-0', 'item-1', 'item-2'])
      expect((await log.verify()).valid).toBe(true)
      expect(await log.append(line(3))).toBe(3)
      await log.close()
    } finally {
      await ledger.close()
    }

    // A store without the old core gets one named local/audit-log.
    const fresh = await Ledger.open({ dir: join(dir, 'fresh'), verifyWorkers: 0 })
    try {
      const log = await AuditLog.open(fresh)
      const expected = await storeOf(fresh).createKeyPair('local/audit-log')
      expect(Buffer.from(log.core.key!).equals(Buffer.from(Hypercore.key(expected.publicKey)))).toBe(true)
      await log.close()
    } finally {
      await fresh.close()
    }
    store = new Corestore(join(dir, 'store'))
    await store.ready()
  })

  it('appends lines in order with their time, and reads ranges', async () => {
    const clock = fakeClock()
    const log = await AuditLog.open(localCoresOf(store), { now: clock.now })
    expect(await log.append(line(0))).toBe(0)
    clock.advance(1000)
    expect(await log.append(line(1, { result: 'refused', code: 'FORBIDDEN' }))).toBe(1)
    expect(await log.append({ ...line(2), time: '2030-01-01T00:00:00.000Z' })).toBe(2)

    const lines = await log.read()
    expect(lines.map((l) => l.seq)).toEqual([0, 1, 2])
    expect(lines[0]!.line).toEqual({ v: 1, time: '2026-01-01T00:00:00.000Z', ...line(0) })
    expect(lines[1]!.line).toMatchObject({ time: '2026-01-01T00:00:01.000Z', result: 'refused', code: 'FORBIDDEN' })
    expect(lines[2]!.line.time).toBe('2030-01-01T00:00:00.000Z')
    expect((await log.read(1, 2)).map((l) => l.line.target)).toEqual(['item-1'])
    await expectCode(log.read(2, 4), 'BAD_REQUEST')
    await expectCode(log.read(-1), 'BAD_REQUEST')
    await log.close()
  })

  it('keeps the order of concurrent appends, writing them in few batches', async () => {
    const log = await AuditLog.open(localCoresOf(store))
    let appends = 0
    log.core.on('append', () => { appends++ })
    const seqs = await Promise.all(Array.from({ length: 600 }, async (_, i) => await log.append(line(i))))
    expect(seqs).toEqual(Array.from({ length: 600 }, (_, i) => i))
    expect((await log.read()).map((l) => l.line.target)).toEqual(seqs.map((i) => `item-${i}`))
    // The first line alone, then the rest in batches of at most 256.
    expect(appends).toBeLessThanOrEqual(4)
    await log.close()
  })

  it('refuses a line that does not fit the schema, or holds something like a credential, and writes nothing', async () => {
    const log = await AuditLog.open(localCoresOf(store))
    await expectCode(log.append(line(0, { actor: 'root' })), 'BAD_AUDIT_LINE')
    await expectCode(log.append(line(0, { target: 'hck_0123456789abcdef_c2VjcmV0' })), 'BAD_AUDIT_LINE')
    await expectCode(log.append(line(0, { from: 'hct_abc' })), 'BAD_AUDIT_LINE')
    await expectCode(log.append(line(0, { target: 'x'.repeat(201) })), 'BAD_AUDIT_LINE')
    await expectCode(log.append({ ...line(0), extra: 1 } as AuditLineInput), 'BAD_AUDIT_LINE')
    expect(log.length).toBe(0)
    await log.close()
  })

  it('survives a reopen of the store: same key, same lines, still verifies', async () => {
    const log = await AuditLog.open(localCoresOf(store))
    for (let i = 0; i < 5; i++) await log.append(line(i))
    const key = log.key
    const before = await log.read()
    await log.close()
    await store.close()

    store = new Corestore(join(dir, 'store'))
    const reopened = await AuditLog.open(localCoresOf(store))
    expect(Buffer.from(reopened.key).equals(Buffer.from(key))).toBe(true)
    expect(await reopened.read()).toEqual(before)
    expect(await reopened.append(line(5))).toBe(5)
    const report = await reopened.verify({ expectedKey: key })
    expect(report).toMatchObject({ valid: true, length: 6, linesChecked: 6, problems: [] })
    await reopened.close()
  })

  it('verify: an untouched log passes; an empty log passes', async () => {
    const log = await AuditLog.open(localCoresOf(store))
    expect(await log.verify()).toMatchObject({ valid: true, length: 0, linesChecked: 0 })
    for (let i = 0; i < 7; i++) await log.append(line(i))
    expect(await log.verify()).toMatchObject({ valid: true, length: 7, linesChecked: 7, problems: [] })
    await log.close()
  })

  it('verify: a line rewritten on disk no longer matches the signed tree (TREE_MISMATCH)', async () => {
    const log = await AuditLog.open(localCoresOf(store))
    for (let i = 0; i < 5; i++) await log.append(line(i, i === 2 ? { result: 'refused', code: 'UNKNOWN_KEY' } : {}))
    // Someone with the disk but not the key turns a refusal into a grant: a valid line, just not the signed one.
    const forged = encodeAuditLine({ ...(await log.read(2, 3))[0]!.line, result: 'granted', code: undefined })
    await overwriteBlock(log.core, 2, forged)
    expect((await log.read(2, 3))[0]!.line.result).toBe('granted')

    const report = await log.verify()
    expect(report.valid).toBe(false)
    expect(report.problems.map((p) => p.code)).toEqual(['TREE_MISMATCH'])
    await log.close()
  })

  it('verify: a line that is not a valid audit line is reported with its position', async () => {
    const log = await AuditLog.open(localCoresOf(store))
    for (let i = 0; i < 3; i++) await log.append(line(i))
    await overwriteBlock(log.core, 1, new Uint8Array([0xff, 0x00]))
    const report = await log.verify()
    expect(report.problems.map((p) => [p.code, p.seq])).toEqual([['BAD_AUDIT_LINE', 1], ['TREE_MISMATCH', undefined]])
    await log.close()
  })

  it('verify: another log, or an expected key it does not have, is WRONG_KEY', async () => {
    const log = await AuditLog.open(localCoresOf(store))
    await log.append(line(0))
    const report = await log.verify({ expectedKey: new Uint8Array(32) })
    expect(report.problems.map((p) => p.code)).toEqual(['WRONG_KEY'])
    await log.close()
  })

  it('verify with an anchor: a history rewritten and re-signed by the key holder is ANCHOR_MISMATCH', async () => {
    const log = await AuditLog.open(localCoresOf(store))
    for (let i = 0; i < 4; i++) await log.append(line(i))
    const anchor = await log.head()
    expect(anchor).toMatchObject({ length: 4 })
    expect(anchor!.root).toHaveLength(32)
    expect(anchor!.signature).toHaveLength(64)
    expect((await log.verify({ anchor: anchor! })).valid).toBe(true)

    // The key holder drops the last two lines and writes others: Hypercore signs the new history.
    await log.core.truncate(2)
    await log.append(line(2, { result: 'refused', code: 'FORBIDDEN' }))
    await log.append(line(3, { result: 'refused', code: 'FORBIDDEN' }))
    expect((await log.verify()).valid).toBe(true) // signed, so only an anchor can tell
    const report = await log.verify({ anchor: anchor! })
    expect(report.valid).toBe(false)
    expect(report.problems.map((p) => p.code)).toEqual(['ANCHOR_MISMATCH'])

    // And a log cut below the anchor's length.
    await log.core.truncate(3)
    expect((await log.verify({ anchor: anchor! })).problems.map((p) => p.code)).toEqual(['ANCHOR_MISMATCH'])
    await log.close()
  })

  it('refuses appends once closed', async () => {
    const log = await AuditLog.open(localCoresOf(store))
    await log.close()
    await expectCode(log.append(line(0)), 'CLOSED')
  })
})
