/**
 * The analyst's screens in real Chromium against a real consortium (two
 * hospitals, an agency whose analysts sign in, a regulator), seeded over
 * HTTP: systolic pressures of six patients in May (enough people for the
 * month to be disclosed) and of two in June (too few: suppressed), and two
 * patients whose phones recorded locations 10 m and 5 minutes apart.
 * Statistics show the node's own numbers and the suppressed month as
 * suppressed; tracing finds the contact, draws both trails and shows the
 * query's line of the agency's audit log; a malformed id is refused in words.
 */
import {
  buildUserEntry, bytesToHex, encodeEntry, fromHex, nobleProvider, signEntry, type LocationPlain, type UserKeys
} from '@healthchain/core'
import { call, enrolOverHttp, startConsortium, staffToken, userToken, waitUntil, type TestConsortium, type TestNode } from '@healthchain/node/testing'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DESKTOP, PHONE, launchBrowser, openConsole, screenshot, signInAsStaff } from './browser.js'

interface Patient { readonly user: UserKeys, readonly chainKey: string }

const MAY = Date.parse('2026-05-04T08:00:00Z')
const JUNE = Date.parse('2026-06-10T08:00:00Z')
const UTC = { timezoneId: 'UTC', locale: 'en-GB' }

let net: TestConsortium
let hospital: TestNode
let agency: TestNode
let browser: Browser
const patients: Patient[] = []

function systolic (value: number, time: number): object {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }], text: 'Systolic BP' },
    effectiveDateTime: new Date(time).toISOString(),
    valueQuantity: { value, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' }
  }
}

/** A location entry the patient's phone signs for the chain's next position, sent to the custodian. */
async function walks (patient: Patient, plain: LocationPlain, staff: string): Promise<void> {
  const { body: { length } } = await call(hospital.url, 'GET', `/v1/users/${patient.user.userId}`, { token: staff })
  const unsigned = buildUserEntry('location', plain, {}, nobleProvider)
  const entry = signEntry(unsigned, { chainKey: fromHex(patient.chainKey, 32, 'chainKey'), seq: length }, patient.user.sign.secretKey, nobleProvider)
  const reply = await call(hospital.url, 'POST', `/v1/users/${patient.user.userId}/entries`, {
    token: await userToken(hospital, patient.user), body: { entry: bytesToHex(encodeEntry(entry)), seq: length }
  })
  expect(reply.status, JSON.stringify(reply.body)).toBe(201)
}

beforeAll(async () => {
  net = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['agency', 'inquirer'], ['regulator', 'regulator']])
  hospital = net.node('hospital-a')
  agency = net.node('agency')
  const staff = await staffToken(hospital)
  for (let i = 0; i < 6; i++) patients.push(await enrolOverHttp(hospital, staff))
  for (const [i, p] of patients.entries()) {
    const reply = await call(hospital.url, 'POST', `/v1/users/${p.user.userId}/fhir`, { token: staff, body: systolic(112 + i * 7, MAY + i * 3_600_000) })
    expect(reply.status, JSON.stringify(reply.body)).toBe(201)
  }
  for (const p of patients.slice(0, 2)) {
    expect((await call(hospital.url, 'POST', `/v1/users/${p.user.userId}/fhir`, { token: staff, body: systolic(125, JUNE) })).status).toBe(201)
  }
  // The first two patients meet: 10 m and 5 minutes apart; later the second walks 2 km north.
  await walks(patients[0]!, { points: [{ lat: 52.5195, lon: 13.4045, acc: 5, time: MAY - 600_000 }, { lat: 52.52, lon: 13.405, acc: 5, time: MAY }] }, staff)
  await walks(patients[1]!, {
    points: [{ lat: 52.52009, lon: 13.405, acc: 5, time: MAY + 5 * 60_000 }, { lat: 52.538, lon: 13.405, acc: 5, time: MAY + 60 * 60_000 }]
  }, staff)
  // The agency answers from its own replicas: wait until it holds and indexed what was written.
  const inquirer = await staffToken(agency)
  await waitUntil(async () => {
    const reply = await call(agency.url, 'GET', '/v1/statistics?period=month&code=8480-6', { token: inquirer })
    return reply.body.buckets?.find((b: { period: string }) => b.period === '2026-05')?.users === 6 &&
      reply.body.buckets?.find((b: { period: string }) => b.period === '2026-06') !== undefined
  }, 'the agency to index every systolic pressure', 30_000)
  await waitUntil(async () => {
    const reply = await call(agency.url, 'POST', '/v1/trace', { token: inquirer, body: traceBody() })
    return reply.body.contacts?.length === 1
  }, 'the agency to index both trails', 30_000)
  browser = await launchBrowser()
}, 90_000)

afterAll(async () => {
  await browser?.close()
  await net?.close()
})

function traceBody (): object {
  return {
    userId: patients[0]!.user.userId,
    since: new Date(MAY - 86_400_000).toISOString(),
    until: new Date(MAY + 86_400_000).toISOString(),
    radiusMetres: 25,
    windowMinutes: 15
  }
}

const oneDecimal = (n: number): string => n.toLocaleString('en', { maximumFractionDigits: 1 })

describe('analyst console', () => {
  it('statistics: the table holds the node\'s numbers, the small month shows as suppressed, and the chart says it has no bar', async () => {
    const api = await call(agency.url, 'GET', '/v1/statistics?period=month&code=8480-6', { token: await staffToken(agency) })
    expect(api.status).toBe(200)
    const may = api.body.buckets.find((b: { period: string }) => b.period === '2026-05')
    expect(may).toMatchObject({ suppressed: false, users: 6, count: 6, min: 112, max: 147 })
    expect(api.body.buckets.find((b: { period: string }) => b.period === '2026-06')).toMatchObject({ suppressed: true })

    const { page, context, problems } = await openConsole(browser, agency.url, { ...DESKTOP, ...UTC })
    await signInAsStaff(page, agency.apiKey)
    await page.getByLabel('Measure').selectOption('8480-6')
    const row = (period: string) => page.locator(`[data-testid=stats-row][data-period="${period}"]`)
    await row('2026-05').waitFor()
    expect(await row('2026-05').getByTestId('users').textContent()).toBe(String(may.users))
    expect(await row('2026-05').getByTestId('count').textContent()).toBe(String(may.count))
    expect(await row('2026-05').getByTestId('mean').textContent()).toBe(oneDecimal(may.mean))
    expect(await row('2026-05').getByTestId('median').textContent()).toBe(oneDecimal(may.p50))
    expect(await row('2026-05').getByTestId('min').textContent()).toBe('112')
    expect(await row('2026-05').getByTestId('max').textContent()).toBe('147')
    expect(await row('2026-05').locator('td').last().textContent()).toBe('mmHg')
    // The suppressed month: a badge saying why, and no number at all in its row.
    expect(await row('2026-06').getAttribute('data-suppressed')).toBe('true')
    expect(await row('2026-06').textContent()).toContain('suppressed (< 5 people)')
    expect(await row('2026-06').getByTestId('users').count()).toBe(0)
    expect(await row('2026-06').textContent()).not.toMatch(/\b0\b/)
    expect(await page.getByTestId('min-users').textContent()).toBe('5')
    expect(await page.getByTestId('suppressed-count').textContent()).toBe(String(api.body.suppressedBuckets))
    expect(await page.getByTestId('chart-suppressed-note').textContent()).toContain('No bar for 2026-06')
    expect(await page.getByTestId('statistics-chart').locator('canvas').getAttribute('aria-label')).toContain('mmHg')
    await screenshot(page, 'analyst-statistics')

    // A measure nobody measured: an empty state that says what to do.
    await page.getByLabel('Measure').selectOption('2093-3')
    await expect.poll(async () => await page.getByTestId('statistics-empty').textContent().catch(() => '')).toContain('No readings of Total cholesterol')
    expect(problems).toEqual([])
    await context.close()
  })

  it('statistics by week on a phone: the same people, in a table that fits, narrowed by a date window', async () => {
    const api = await call(agency.url, 'GET', '/v1/statistics?period=week&code=8480-6', { token: await staffToken(agency) })
    const { page, context, problems } = await openConsole(browser, agency.url, { ...PHONE, ...UTC })
    await signInAsStaff(page, agency.apiKey)
    await page.getByLabel('Period').selectOption('week')
    const week = api.body.buckets.find((b: { suppressed: boolean }) => !b.suppressed)
    expect(week).toBeDefined()
    const row = page.locator(`[data-testid=stats-row][data-period="${week.period as string}"]`)
    await row.waitFor()
    expect(await row.getByTestId('users').textContent()).toBe(String(week.users))
    expect(await page.locator('[data-testid=stats-row]').count()).toBe(api.body.buckets.length)
    // The page itself does not scroll sideways at 390 px: only the table's own box may.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
    // A window from June on: May's week goes, June's (suppressed) stays.
    await page.getByLabel('From (optional)').fill('2026-06-01')
    await expect.poll(async () => await page.locator('[data-testid=stats-row]').count()).toBe(1)
    expect(await page.locator('[data-testid=stats-row]').getAttribute('data-suppressed')).toBe('true')
    expect(problems).toEqual([])
    await context.close()
  })

  it('contact tracing finds the known contact, draws both trails with the meeting point, and shows the query\'s audit line', async () => {
    const [alice, bob] = [patients[0]!.user.userId, patients[1]!.user.userId]
    const { page, context, problems } = await openConsole(browser, agency.url, { ...DESKTOP, ...UTC })
    await signInAsStaff(page, agency.apiKey)
    await page.getByRole('link', { name: 'Contact tracing' }).click()
    await page.getByLabel('User id of the person').fill(alice)
    await page.getByLabel('Distance (metres)').fill('25')
    await page.getByLabel('Time apart (minutes)').fill('15')
    await page.getByLabel('From').fill('2026-05-03T00:00')
    await page.getByLabel('To').fill('2026-05-05T00:00')
    await page.getByRole('button', { name: 'Trace contacts' }).click()

    const rows = page.getByTestId('contact-row')
    await rows.first().waitFor()
    expect(await rows.count()).toBe(1)
    expect(await rows.first().getAttribute('data-user')).toBe(bob)
    expect(await rows.first().getByTestId('meetings').textContent()).toBe('1')
    expect(await rows.first().getByTestId('closest').textContent()).toBe('10 m')
    // Both trails, each with every point of the window (two each), and the meeting circled.
    const map = page.getByTestId('trace-map')
    expect(await map.locator(`g[data-trail="traced ${alice.slice(0, 8)}…"] polyline`).getAttribute('points')).toMatch(/^\S+ \S+$/)
    expect(await map.locator(`g[data-trail="contact ${bob.slice(0, 8)}…"] polyline`).getAttribute('points')).toMatch(/^\S+ \S+$/)
    expect(await map.locator('circle.highlight').count()).toBe(1)
    expect(await page.getByTestId('trace-result').textContent()).toContain('every location recorded in the window')
    // The line this trace left in the agency's audit log.
    const keyId = agency.apiKey.split('_')[1]!
    expect(await page.getByTestId('audit-target').textContent()).toBe(`trace:${alice}`)
    expect(await page.getByTestId('audit-actor').textContent()).toBe(`key:${keyId} (inquirer)`)
    expect(await page.getByTestId('audit-result').textContent()).toBe('granted')
    const audit = await call(agency.url, 'GET', '/v1/audit?limit=1000', { token: await staffToken(agency) })
    const ours = (audit.body.lines as Array<{ seq: number, target?: string }>).filter((l) => l.target === `trace:${alice}`).at(-1)
    expect(await page.getByTestId('trace-audit-line').textContent()).toContain(`line#${ours!.seq}who`)
    await screenshot(page, 'analyst-trace')
    expect(problems).toEqual([])
    await context.close()
  })

  it('tracing a malformed user id is refused in words, naming the code; a person without contacts gets an empty state', async () => {
    const { page, context, problems } = await openConsole(browser, agency.url, { ...DESKTOP, ...UTC })
    await signInAsStaff(page, agency.apiKey)
    await page.goto('/#/analyst/trace')
    await page.getByLabel('User id of the person').fill('not-a-user')
    await page.getByRole('button', { name: 'Trace contacts' }).click()
    await expect.poll(async () => await page.getByTestId('trace-error').textContent().catch(() => '')).toContain('BAD_REQUEST')

    await page.getByLabel('User id of the person').fill(patients[5]!.user.userId)
    await page.getByLabel('From').fill('2026-05-03T00:00')
    await page.getByLabel('To').fill('2026-05-05T00:00')
    await page.getByRole('button', { name: 'Trace contacts' }).click()
    await expect.poll(async () => await page.getByTestId('trace-empty').textContent().catch(() => '')).toContain('No contacts')
    expect(await page.getByTestId('trace-error').count()).toBe(0)
    expect(problems).toEqual([])
    await context.close()
  })
})
