/**
 * An erasure below N after a move: the erased block goes from the old core
 * too, on every node that holds it (the new custodian and a replica that
 * followed), and its bytes from every file of their stores, also after a
 * reopen. The old core still proves its head at N (its tree nodes stay).
 */
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildErasure, buildUserEntry, type UnsignedEntry, type UserKeys } from '@healthchain/core'
import type { Ledger, UserChain } from '../src/index.js'
import { appendUser, crypto, enrol, makeConsortium, newUser, signAs, writeExam, type TestConsortium } from './helpers/consortium.js'
import { custodyHelpers } from './helpers/custody.js'
import { findOnDisk, markerText, textMarker, type Marker } from '../../../test/helpers/disk-scan.js'

let c: TestConsortium
let user: UserKeys
let first: UserChain
let b: Ledger
let reg: Ledger
/** The erased entry's text, and its position below N. */
let marker: Marker
let target: number

const T0 = Date.UTC(2026, 0, 1)
const exercise = (text: string): UnsignedEntry =>
  buildUserEntry('exercise', { start: T0, end: T0 + 60_000, observations: [{ code: '55423-8', value: text }] }, { time: T0 }, crypto)

const { replicate, signMigrate, follow, unwire } = custodyHelpers(() => user)

const openB = async (): Promise<Ledger> => await c.openPeer('hospital-b', { institution: c.institutions.hospitalB.id })
const openReg = async (): Promise<Ledger> => await c.openPeer('regulator', { institution: c.institutions.regulator.id })

/** Whether `ledger` stores block `seq` of the core `key` (a session of it, closed after). */
async function holds (ledger: Ledger, key: Uint8Array, seq: number): Promise<boolean> {
  const session = ledger.coreSession(key)
  try {
    await session.ready()
    return await session.has(seq)
  } finally {
    await session.close()
  }
}

beforeEach(async () => {
  c = await makeConsortium()
  user = newUser()
  first = await enrol(c.ledger, user)
  await writeExam(c.ledger, first, c.institutions.hospitalA)
  const text = markerText('OLD-CORE')
  marker = textMarker(text)
  target = (await appendUser(first, user, exercise(text))).seq
  await writeExam(c.ledger, first, c.institutions.hospitalA)
  b = await openB()
  await b.followRegistry(c.ledger.registry.key)
  reg = await openReg()
  await reg.followRegistry(c.ledger.registry.key)
})
afterEach(async () => {
  unwire()
  await c.cleanup()
})

describe('an erasure below N after a move', () => {
  it('clears the block in the old core at the new custodian and at a replica, and its bytes from their stores, also after a reopen', async () => {
    await replicate(c.ledger, b)
    await replicate(c.ledger, reg)
    const N = first.length
    const offer = await b.offerContinuation(user.userId)
    const next = await b.continueChain(user.userId, signMigrate(offer))
    const dirs = [join(c.dir, 'hospital-b'), join(c.dir, 'regulator')]
    // The control: the entry is in the old core and on disk at both.
    expect(await holds(b, first.key, target)).toBe(true)
    expect(await holds(reg, first.key, target)).toBe(true)
    for (const dir of dirs) expect((await findOnDisk(dir, [marker])).length).toBeGreaterThan(0)

    await next.append(signAs(user, buildErasure([target], {}, crypto), next.key, N + 1), N + 1)
    const followed = await follow(b, reg, offer.key, N + 2)
    expect(followed?.verifiedLength).toBe(N + 2)
    for (const ledger of [b, reg]) {
      expect(await holds(ledger, offer.key, target)).toBe(false)
      expect(await holds(ledger, first.key, target)).toBe(false)
      // The old core still holds the rest, and its tree still proves its head at N.
      expect(await holds(ledger, first.key, target - 1)).toBe(true)
      await ledger.scrubsSettled()
      expect((await ledger.verify(user.userId)).problems).toEqual([])
    }
    await b.close()
    await reg.close()
    for (const dir of dirs) expect(await findOnDisk(dir, [marker]), dir).toEqual([])

    b = await openB()
    reg = await openReg()
    for (const ledger of [b, reg]) {
      expect(await holds(ledger, first.key, target)).toBe(false)
      expect(await (await ledger.chain(user.userId)).get(target)).toBeNull()
    }
    await b.close()
    await reg.close()
    for (const dir of dirs) expect(await findOnDisk(dir, [marker]), dir).toEqual([])
  })

  it('clears in the old core an erased block a replica had not seen erased when it moved', async () => {
    await replicate(c.ledger, b)
    // The regulator holds the old core's blocks but has folded none of the erasure: it arrives with the continuation.
    await replicate(c.ledger, reg)
    await first.append(signAs(user, buildErasure([target], {}, crypto), first.key, first.length), first.length)
    await replicate(c.ledger, b)
    expect(await holds(b, first.key, target)).toBe(false)
    const N = first.length
    const offer = await b.offerContinuation(user.userId)
    await b.continueChain(user.userId, signMigrate(offer))
    expect(await holds(reg, first.key, target)).toBe(true)
    const followed = await follow(b, reg, offer.key, N + 1)
    expect(followed?.verifiedLength).toBe(N + 1)
    expect(await holds(reg, offer.key, target)).toBe(false)
    expect(await holds(reg, first.key, target)).toBe(false)
    await reg.scrubsSettled()
    await reg.close()
    expect(await findOnDisk(join(c.dir, 'regulator'), [marker])).toEqual([])
  })
})
