/**
 * The patient's console for a chain that moved and whose keys were renewed,
 * in real Chromium against real nodes: enrolled at hospital-a, moved to
 * hospital-b (the user signed the migrate), the keys renewed (a rekey to
 * generation 1), exams before and after (custody-seed.ts). Served by
 * hospital-b, the custodian that holds the whole chain:
 *
 * - signing in with the one recovery phrase signs once with the generation
 *   the node's challenge names (it takes only generation 1 now), counting no
 *   failed login; every entry shows as checked on
 *   the device, each for the key of the core it was written in and the user
 *   key in force at its position; the three seals open; the move and the
 *   renewal are told in words; the header names hospital-b; the signed head
 *   of the continuation core checks;
 * - a write from the console is signed with generation 1's key and accepted;
 * - a user entry after the renewal served re-signed with the rotated-out key
 *   (its bytes staged from the ledger's copy) shows red;
 * - a grant re-wraps every seal under the core it was written in and with
 *   the generation's box key it was sealed to, so hospital-b opens the exam
 *   hospital-a wrote before the move.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { bytesToHex, encodeEntry, fromHex, signEntry, type UserKeys } from '@healthchain/core'
import { staffToken, startConsortium, userToken, type TestConsortium, type TestNode } from '@healthchain/node/testing'
import { DESKTOP, PHONE, launchBrowser, openConsole, screenshot, signInAsPatient } from './browser.js'
import { seedMovedPatient, type MovedPatient } from './custody-seed.js'
import { crypto, entriesAt } from './patient-seed.js'

let net: TestConsortium
let b: TestNode
let browser: Browser
let patient: MovedPatient
let seeded: number

async function signIn (page: Page): Promise<void> {
  await signInAsPatient(page, patient.phrase)
  await page.getByTestId('timeline-count').waitFor({ timeout: 20_000 })
}

/** The stored entry at `seq` (hospital-b's ledger copy) re-signed by `keys` for the chain's key at `seq`: what a lying node could serve. */
async function resignedAt (seq: number, keys: UserKeys): Promise<string> {
  const chain = await b.daemon.ledger.chain(patient.keys[0].userId)
  const entry = await chain.get(seq)
  if (entry === null || entry === undefined) throw new Error(`no entry at ${seq}`)
  const { sig: _sig, ...unsigned } = entry
  return bytesToHex(encodeEntry(signEntry(unsigned as Parameters<typeof signEntry>[0], { chainKey: fromHex(patient.newKey, 32, 'key'), seq }, keys.sign.secretKey, crypto)))
}

beforeAll(async () => {
  net = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner']])
  b = net.node('hospital-b')
  patient = await seedMovedPatient(net.node('hospital-a'), b, await staffToken(net.node('hospital-a')), await staffToken(b))
  seeded = patient.exerciseSeq + 1
  browser = await launchBrowser()
}, 90_000)

afterAll(async () => {
  await browser?.close()
  await net?.close()
})

describe('the patient\'s console after a move to hospital-b and a key renewal', () => {
  it('signs in with the phrase as generation 1, and shows every entry checked, the move and the renewal in words', async () => {
    // The node takes only the key in force: generation 0 is refused now.
    expect((await userToken(b, patient.keys[0]).catch((err: Error) => err.message))).toMatch(/LOGIN_REFUSED/)
    const userId = patient.keys[0].userId
    const failed = b.daemon.context.sessions.failedLogins(userId)
    const loginsBefore = (await b.daemon.audit.read()).length
    const { page, context, problems } = await openConsole(browser, b.url, PHONE)
    await signIn(page)
    // The challenge named generation 1: the browser signed once with its key, no failed login counted, nothing refused.
    expect(b.daemon.context.sessions.failedLogins(userId)).toBe(failed)
    const logins = (await b.daemon.audit.read()).slice(loginsBefore).map((l) => l.line).filter((l) => l.action === 'login' && l.actor === `user:${userId}`)
    expect(logins.map((l) => l.result)).toEqual(['granted'])
    await expect.poll(async () => await page.getByTestId('timeline-count').textContent()).toBe(`${seeded} entries, ${seeded} checked on this device.`)
    expect(await page.getByTestId('check-bad').count()).toBe(0)
    expect(await page.getByTestId('custodian').textContent()).toBe('Your record is kept by hospital-b (moved 1 time)')
    const title = async (seq: number): Promise<string | null> => await page.locator(`[data-seq="${seq}"]`).getByTestId('entry-title').textContent()
    expect(await title(0)).toBe('Record started at hospital-a')
    expect(await title(patient.moved)).toBe('Moved to hospital-b, by you')
    expect(await title(patient.rekeySeq)).toBe('Keys renewed (generation 1)')
    // Sealed before the move, after it, and after the renewal (to generation 1's box key): all open here.
    expect(await page.getByTestId('sealed-notes').allTextContents()).toEqual(['after the renewal', 'at hospital-b', 'at hospital-a'])
    await expect.poll(async () => await page.getByTestId('head-summary').textContent(), { timeout: 20_000 })
      .toMatch(new RegExp(`Chain head #${seeded} signed by hospital-b, cosigned by 0 of 0 regulators — checked on this device`))
    await screenshot(page, 'patient-timeline-moved')
    expect(problems).toEqual([])
    await context.close()
  })

  it('writes with the key in force: an exercise signed in the browser is accepted and checks', async () => {
    const { page, context, problems } = await openConsole(browser, b.url, DESKTOP)
    await signIn(page)
    await page.evaluate('location.hash = \'/patient/write\'')
    await page.getByLabel('Steps', { exact: true }).fill('3456')
    await page.getByRole('button', { name: 'Sign and save exercise' }).click()
    await expect.poll(async () => await page.getByTestId('write-sent').textContent()).toMatch(new RegExp(`written: 1 exercise entry \\(#${seeded}\\)`))
    const token = await userToken(b, patient.keys[1])
    const written = (await entriesAt(b, token, patient.keys[0].userId)).find((e) => e.seq === seeded)
    expect(written?.plain.observations.map((o: { value: number }) => o.value)).toEqual([3456])
    await page.evaluate('location.hash = \'/patient\'')
    seeded++
    await expect.poll(async () => await page.getByTestId('timeline-count').textContent()).toBe(`${seeded} entries, ${seeded} checked on this device.`)
    expect(problems).toEqual([])
    await context.close()
  })

  it('marks in red a user entry after the renewal served signed with the rotated-out key', async () => {
    const forged = await resignedAt(patient.exerciseSeq, patient.keys[0])
    const { page, context, problems } = await openConsole(browser, b.url, PHONE)
    await page.route('**/v1/users/*/entries?*', async (route) => {
      const reply = await route.fetch()
      const body = await reply.json() as { entries: Array<{ seq: number, encoded: string }> }
      for (const e of body.entries) if (e.seq === patient.exerciseSeq) e.encoded = forged
      await route.fulfill({ response: reply, json: body })
    })
    await signIn(page)
    await expect.poll(async () => await page.getByTestId('timeline-count').textContent()).toBe(`${seeded} entries, ${seeded - 1} checked on this device, 1 NOT verified.`)
    expect(await page.locator(`[data-seq="${patient.exerciseSeq}"]`).getByTestId('check-bad').textContent())
      .toMatch(/your signature does not verify under your key in force at this position/)
    expect(problems).toEqual([])
    await context.close()
  })

  it('grants hospital-b the sealed past: each seal re-wrapped under its own core and the generation it was sealed to, then opened there', async () => {
    const staffB = await staffToken(b)
    const notesAtB = async (): Promise<unknown[]> => (await entriesAt(b, staffB, patient.keys[0].userId, '&type=exam')).map((e) => e.sealed?.data?.notes ?? null)
    // hospital-a's exam, written before the move, is sealed for hospital-a and the user only.
    expect(await notesAtB()).toEqual([null, 'at hospital-b', 'after the renewal'])
    const { page, context, problems } = await openConsole(browser, b.url, DESKTOP)
    await signIn(page)
    await page.evaluate('location.hash = \'/patient/consent\'')
    await page.getByTestId('grant-form').waitFor()
    await page.getByLabel('Examiner').selectOption('hospital-b')
    await page.getByRole('button', { name: 'Grant access' }).click()
    await expect.poll(async () => await page.getByTestId('grant-done').textContent()).toMatch(/hospital-b may now read your sealed results, and the 3 earlier ones/)
    const token = await userToken(b, patient.keys[1])
    const grants = (await entriesAt(b, token, patient.keys[0].userId, '&type=consent')).map((e) => e.plain.rewrap?.keys.length)
    // One grant: the old core's seal (generation 0), the new core's before the renewal (generation 0) and after it (generation 1).
    expect(grants).toEqual([3])
    await expect.poll(notesAtB).toEqual(['at hospital-a', 'at hospital-b', 'after the renewal'])
    expect(problems).toEqual([])
    await context.close()
  })
})
