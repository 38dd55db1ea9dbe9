/**
 * The patient's console in real Chromium against a real consortium
 * (hospital-a custodian, hospital-b examiner, a regulator that cosigns
 * heads): a patient enrolled at hospital-a with exams at both hospitals
 * over several years (one value out of range, sealed parts), exercise and
 * a place. The timeline opens the sealed parts and checks every entry on
 * the device; measurements mark the out-of-range value; a form write, a GPX
 * import, a grant (hospital-b then reads the sealed past over HTTP), a
 * withdrawal and an erasure land in the chain; wrong phrases are refused in
 * words; nothing of the record stays in browser storage.
 */
import { buildExerciseEntry, buildLocationEntry } from '@healthchain/client/user-side'
import { startConsortium, staffToken, userToken, waitUntil, call, type TestConsortium, type TestNode } from '@healthchain/node/testing'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DESKTOP, PHONE, launchBrowser, openConsole, screenshot, signInAsPatient } from './browser.js'
import { GPX, crypto, enrolPatient, entriesAt, holds, writeAsUser, writeExam, type SeededPatient } from './patient-seed.js'

const YEAR = 365 * 86_400_000
const NOW = Date.now()

let net: TestConsortium
let a: TestNode
let b: TestNode
let browser: Browser
let patient: SeededPatient
let staffA: string
let staffB: string
let seeded: number

async function signIn (page: Page): Promise<void> {
  await signInAsPatient(page, patient.phrase)
  await page.getByTestId('timeline-count').waitFor({ timeout: 20_000 })
}

async function go (page: Page, route: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(route)}`)
}

beforeAll(async () => {
  net = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['regulator', 'regulator']])
  a = net.node('hospital-a')
  b = net.node('hospital-b')
  staffA = await staffToken(a)
  staffB = await staffToken(b)
  patient = await enrolPatient(a, staffA)
  const bp = (value: number, time: number): object => ({ code: '8480-6', value, unit: 'mm[Hg]', time })
  await writeExam(a, staffA, patient, {
    plain: { title: 'Check-up', observations: [bp(112, NOW - 3 * YEAR)] },
    sealed: { observations: [{ code: '2339-0', value: 92, unit: 'mg/dL', time: NOW - 3 * YEAR }], notes: 'fasting sample, all clear' }
  })
  await writeExam(a, staffA, patient, { plain: { title: 'Check-up', observations: [bp(117, NOW - 2 * YEAR)] }, sealed: { notes: 'no change' } })
  await writeAsUser(a, patient, buildExerciseEntry({
    start: NOW - 2 * 86_400_000, end: NOW - 2 * 86_400_000 + 3_600_000, observations: [{ code: '55423-8', value: 5400, unit: '{steps}' }]
  }, crypto))
  await writeAsUser(a, patient, buildLocationEntry({ points: [{ lat: 52.52, lon: 13.405, acc: 5, time: NOW - 86_400_000 }] }, crypto))
  // hospital-b examines the patient a year ago (its exam is forwarded to the custodian): 141 is above the 120 mm[Hg] of the node's table.
  await holds(b, staffB, patient.user.userId, 5)
  await writeExam(b, staffB, patient, { plain: { title: 'Cardiology', observations: [bp(141, NOW - YEAR)] }, sealed: { notes: 'follow up in 3 months' } })
  seeded = 6
  await holds(a, staffA, patient.user.userId, seeded)
  // The regulator cosigns the head the custodian gossips: wait for it, so the timeline's summary can count it.
  const token = await userToken(a, patient.user)
  await waitUntil(async () => {
    const head = (await call(a.url, 'GET', `/v1/users/${patient.user.userId}/head`, { token })).body
    return head.head?.length === seeded && head.cosignatures.some((c: { head: { length: number } }) => c.head.length === seeded)
  }, 'the regulator to cosign the head', 20_000)
  browser = await launchBrowser()
}, 90_000)

afterAll(async () => {
  await browser?.close()
  await net?.close()
})

describe('patient console', () => {
  it('refuses a phrase of valid words this node does not know, and one of invalid words, in words', async () => {
    const { page, context, problems } = await openConsole(browser, a.url, PHONE)
    const unknown = (await import('@healthchain/core')).newRecoveryPhrase()
    await page.getByLabel('Your recovery phrase').fill(unknown)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(async () => await page.getByTestId('login-error').textContent()).toMatch(/not one this node knows/)
    await page.getByLabel('Your recovery phrase').fill('apple banana cherry not really words at all here friend ok go')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(async () => await page.getByTestId('login-error').textContent()).toMatch(/not a valid recovery phrase.*BAD_PHRASE/)
    expect(problems).toEqual([])
    await context.close()
  })

  it('on a phone: the timeline opens the sealed parts, checks every entry and the signed head here, and stores nothing', async () => {
    const { page, context, problems } = await openConsole(browser, a.url, PHONE)
    await signIn(page)
    await expect.poll(async () => await page.getByTestId('timeline-count').textContent()).toBe(`${seeded} entries, ${seeded} checked on this device.`)
    expect(await page.getByTestId('entry').count()).toBe(seeded)
    expect(await page.getByTestId('check-ok').count()).toBe(seeded)
    expect(await page.getByTestId('check-bad').count()).toBe(0)
    const titles = await page.getByTestId('entry-title').allTextContents()
    // Newest first, the types in words.
    expect(titles).toEqual(['Exam at hospital-b', 'Places', 'Exercise', 'Exam at hospital-a', 'Exam at hospital-a', 'Record started at hospital-a'])
    expect(await page.getByText('sealed – opened on this device').count()).toBe(3)
    expect(await page.getByTestId('sealed-notes').allTextContents()).toEqual(['follow up in 3 months', 'no change', 'fasting sample, all clear'])
    const firstExam = page.locator('[data-testid=entry][data-type=exam]').last()
    expect(await firstExam.getByTestId('observation').allTextContents()).toEqual(['112 mmHg', '92 mg/dL'])
    // Only hospital-b's 141 mmHg lies outside its range, and the timeline says so in words.
    expect(await page.locator('[data-testid=observation].out-of-range').allTextContents()).toEqual(['141 mmHg'])
    expect(await page.locator('[data-testid=entry][data-type=exam]').first().textContent()).toContain('above the normal range (90–120)')
    await expect.poll(async () => await page.getByTestId('head-summary').textContent(), { timeout: 20_000 })
      .toMatch(new RegExp(`Chain head #${seeded} signed by hospital-a, cosigned by 1 of 1 regulators — checked on this device`))
    // Usable at 390 px: nothing wider than the screen.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
    await screenshot(page, 'patient-timeline')
    // The manifest the page names loads as a manifest and names the icons.
    const href = await page.locator('link[rel=manifest]').getAttribute('href')
    const manifest = await page.request.get(href!)
    expect(manifest.headers()['content-type']).toMatch(/^application\/manifest\+json/)
    expect(((await manifest.json()) as { icons: unknown[] }).icons.length).toBeGreaterThan(0)
    // No health data (nor keys) in browser storage: the patient's session is not even saved.
    expect(await page.evaluate('[localStorage.length, sessionStorage.length]')).toEqual([0, 0])
    expect(problems).toEqual([])
    await context.close()
  })

  it('measurements: one chart per code across institutions, the values listed, the out-of-range one marked', async () => {
    const { page, context, problems } = await openConsole(browser, a.url, DESKTOP)
    await signIn(page)
    await go(page, '/patient/measures')
    const bp = page.getByTestId('measure-8480-6')
    await bp.waitFor()
    expect(await bp.getByTestId('measure-value').allTextContents()).toEqual(['141 mmHg', '117 mmHg', '112 mmHg'])
    expect(await bp.getByTestId('out-of-range').count()).toBe(1)
    expect(await bp.locator('tr.out-of-range').getByTestId('measure-value').textContent()).toBe('141 mmHg')
    expect(await bp.getByTestId('out-of-range-count').textContent()).toBe('1 out of range')
    expect(await bp.locator('canvas[role=img]').count()).toBe(1)
    // The glucose value came from a sealed part, opened on this device.
    expect(await page.getByTestId('measure-2339-0').getByTestId('measure-value').allTextContents()).toEqual(['92 mg/dL'])
    await screenshot(page, 'patient-measures')
    expect(problems).toEqual([])
    await context.close()
  })

  it('marks in red an entry whose view differs from its stored bytes, and one whose signature fails', async () => {
    const { page, context, problems } = await openConsole(browser, a.url, PHONE)
    // A node that lies: the exam at #1 shown with another value, the exercise at #3 with a damaged signature.
    await page.route('**/v1/users/*/entries?*', async (route) => {
      const reply = await route.fetch()
      const body = await reply.json() as { entries: Array<{ seq: number, plain: any, encoded: string }> }
      for (const e of body.entries) {
        if (e.seq === 1) e.plain.observations[0].value = 99
        if (e.seq === 3) e.encoded = e.encoded.slice(0, -2) + (e.encoded.endsWith('00') ? '01' : '00')
      }
      await route.fulfill({ response: reply, json: body })
    })
    await signIn(page)
    await expect.poll(async () => await page.getByTestId('timeline-count').textContent()).toBe(`${seeded} entries, ${seeded - 2} checked on this device, 2 NOT verified.`)
    expect(await page.locator('[data-seq="1"]').getByTestId('check-bad').textContent()).toMatch(/differs from the stored entry in its content/)
    expect(await page.locator('[data-seq="3"]').getByTestId('check-bad').textContent()).toMatch(/your signature does not verify/)
    expect(await page.getByTestId('check-ok').count()).toBe(seeded - 2)
    // Only checked exams feed the charts: the altered 99 is not drawn as a measurement.
    await go(page, '/patient/measures')
    await page.getByTestId('measure-8480-6').waitFor()
    expect(await page.getByTestId('measure-8480-6').getByTestId('measure-value').allTextContents()).toEqual(['141 mmHg', '117 mmHg'])
    expect(problems).toEqual([])
    await context.close()
  })

  it('writes exercise through the form and a GPX track, each signed here; both land in the chain and the screens', async () => {
    const { page, context, problems } = await openConsole(browser, a.url, PHONE)
    await signIn(page)
    await go(page, '/patient/write')
    await page.getByLabel('Steps', { exact: true }).fill('4321')
    await page.getByLabel('Distance (metres)').fill('3100')
    await page.getByRole('button', { name: 'Sign and save exercise' }).click()
    await expect.poll(async () => await page.getByTestId('write-sent').textContent()).toMatch(/written: 1 exercise entry \(#6\)/)
    await page.getByLabel('GPX track').setInputFiles({ name: 'walk.gpx', mimeType: 'application/gpx+xml', buffer: Buffer.from(GPX) })
    await expect.poll(async () => await page.getByTestId('write-sent').last().textContent()).toMatch(/written: 1 entries \(#7\)/)
    // A malformed file is refused before anything is signed.
    await page.getByLabel('GPX track').setInputFiles({ name: 'bad.gpx', mimeType: 'application/gpx+xml', buffer: Buffer.from('<gpx><trk>') })
    await expect.poll(async () => await page.getByTestId('import-error').textContent()).toMatch(/IMPORT_MALFORMED/)

    const token = await userToken(a, patient.user)
    const entries = await entriesAt(a, token, patient.user.userId)
    expect(entries.filter((e) => e.type === 'exercise').map((e) => e.plain.observations.map((o: { value: number }) => o.value))).toEqual([[5400], [4321, 3100]])
    expect(entries.find((e) => e.seq === 7)?.plain.points).toHaveLength(3)

    await go(page, '/patient')
    await expect.poll(async () => await page.getByTestId('timeline-count').textContent()).toBe(`${seeded + 2} entries, ${seeded + 2} checked on this device.`)
    expect(await page.locator('[data-testid=entry][data-seq="6"]').getByTestId('observation').allTextContents()).toEqual(['4321 steps', '3100 m'])
    await go(page, '/patient/places')
    await page.getByTestId('places-map').waitFor()
    expect(await page.getByTestId('places-day').locator('option').count()).toBe(2)
    await go(page, '/patient/exercise')
    // Days without exercise show 0; the two days with some show their steps.
    await expect.poll(async () => (await page.getByTestId('exercise-steps').allTextContents()).map(Number).filter((n) => n > 0).sort((x, y) => x - y))
      .toEqual([4321, 5400])
    // No energy was ever recorded: a sentence says so instead of an empty chart.
    expect(await page.getByTestId('exercise-energy-none').textContent()).toBe('No active energy recorded in this time.')
    expect(await page.getByTestId('exercise-energy').count()).toBe(0)
    // A steps CSV, parsed in the page (csv-parse's browser build) and written as one exercise entry a row.
    await go(page, '/patient/write')
    const csv = 'start,end,steps,distance_m\n2026-05-03T08:00:00Z,2026-05-03T09:00:00Z,2500,1800\n'
    await page.getByLabel('Steps CSV').setInputFiles({ name: 'steps.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) })
    await expect.poll(async () => await page.getByTestId('write-sent').last().textContent()).toMatch(/written: 1 entries \(#8\)/)
    const fromCsv = (await entriesAt(a, token, patient.user.userId)).find((e) => e.seq === 8)
    expect(fromCsv?.plain.observations.map((o: { value: number }) => o.value)).toEqual([2500, 1800])
    expect(problems).toEqual([])
    await context.close()
  })

  it('grants hospital-b (which then reads the sealed past over HTTP), withdraws it, and erases a chosen entry', async () => {
    const before = await entriesAt(b, staffB, patient.user.userId, '&type=exam')
    expect(before.filter((e) => e.author === 'hospital-a').map((e) => e.sealed?.readable)).toEqual([false, false])
    const { page, context, problems } = await openConsole(browser, a.url, DESKTOP)
    await signIn(page)
    await go(page, '/patient/consent')
    await page.getByTestId('grant-form').waitFor()
    const readers = async (): Promise<string[]> => await page.getByTestId('reader').evaluateAll((rows) => rows.map((r) => `${r.getAttribute('data-who')}:${r.getAttribute('data-why')}`))
    expect(await readers()).toEqual(['you:you', 'hospital-a:wrote', 'hospital-b:wrote'])
    await page.getByLabel('Examiner').selectOption('hospital-b')
    await page.getByRole('button', { name: 'Grant access' }).click()
    await expect.poll(async () => await page.getByTestId('grant-done').textContent()).toMatch(/hospital-b may now read your sealed results, and the 3 earlier ones/)
    await expect.poll(readers).toEqual(['you:you', 'hospital-a:wrote', 'hospital-b:wrote', 'hospital-b:granted'])
    await screenshot(page, 'patient-consent')

    // hospital-b, once it holds the grant, opens hospital-a's sealed parts.
    const length = (await call(a.url, 'GET', `/v1/users/${patient.user.userId}`, { token: staffA })).body.length as number
    await holds(b, staffB, patient.user.userId, length)
    const after = await entriesAt(b, staffB, patient.user.userId, '&type=exam')
    expect(after.filter((e) => e.author === 'hospital-a').map((e) => e.sealed?.data?.notes)).toEqual(['fasting sample, all clear', 'no change'])

    await page.getByRole('button', { name: 'Withdraw hospital-b' }).click()
    await expect.poll(readers).toEqual(['you:you', 'hospital-a:wrote', 'hospital-b:wrote'])
    const token = await userToken(a, patient.user)
    const consents = (await entriesAt(a, token, patient.user.userId, '&type=consent')).map((e) => `${e.plain.action as string}:${e.plain.examiner as string}`)
    expect(consents).toEqual(['grant:hospital-b', 'revoke:hospital-b'])

    await go(page, '/patient/erase')
    await page.getByRole('checkbox', { name: /^Erase #6 Exercise/ }).check()
    await page.getByRole('button', { name: 'Erase 1 chosen…' }).click()
    await expect.poll(async () => await page.getByTestId('erase-confirm').textContent()).toMatch(/for good: nobody, you included/)
    await page.getByRole('button', { name: 'Yes, erase for good' }).click()
    await expect.poll(async () => await page.getByTestId('erase-done').textContent()).toMatch(/Erased 1 entry \(#6\)/)
    const left = await entriesAt(a, token, patient.user.userId)
    expect(left.some((e) => e.seq === 6)).toBe(false)
    expect(left.at(-1)).toMatchObject({ type: 'erasure', plain: { entries: [6] } })
    await go(page, '/patient')
    await expect.poll(async () => await page.locator('[data-testid=entry][data-seq="6"]').getByTestId('erased').count()).toBe(1)
    expect(await page.getByTestId('check-bad').count()).toBe(0)
    expect(await page.evaluate('[localStorage.length, sessionStorage.length]')).toEqual([0, 0])
    expect(problems).toEqual([])
    await context.close()
  })
})
