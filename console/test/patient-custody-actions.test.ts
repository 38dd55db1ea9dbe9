/**
 * The patient's own custody actions in the console, in real Chromium
 * against real nodes: a patient enrolled at hospital-a opens hospital-b's
 * console and moves their record there (the offer checked on the device, the
 * migrate signed in the browser), then renews their keys with the phrase
 * typed again. Bad paths: an offer that names another institution is
 * refused on the device and nothing is sent; a phrase that is not the
 * patient's renews nothing. The regulator's verify screen then lists the
 * chain's two cores, as the node's report and the chain's migrate both
 * name them, and checks the continuation's head.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { newRecoveryPhrase } from '@healthchain/core'
import { call, staffToken, startConsortium, userToken, waitUntil, type TestConsortium, type TestNode } from '@healthchain/node/testing'
import { DESKTOP, launchBrowser, openConsole, screenshot, signInAsPatient, signInAsStaff } from './browser.js'
import { enrolRotatable } from './custody-seed.js'
import { holds } from './patient-seed.js'

let net: TestConsortium
let b: TestNode
let browser: Browser
let patient: Awaited<ReturnType<typeof enrolRotatable>>

beforeAll(async () => {
  net = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['regulator', 'regulator']])
  b = net.node('hospital-b')
  patient = await enrolRotatable(net.node('hospital-a'), await staffToken(net.node('hospital-a')))
  await holds(b, await staffToken(b), patient.keys[0].userId, 2)
  browser = await launchBrowser()
}, 90_000)

afterAll(async () => {
  await browser?.close()
  await net?.close()
})

describe('the patient moves their record and renews their keys from the console', () => {
  it('moves the record to the node whose console is open, after refusing an offer that names another institution', async () => {
    const { page, context, problems } = await openConsole(browser, b.url, DESKTOP)
    await signInAsPatient(page, patient.phrase)
    await page.evaluate('location.hash = \'/patient/custody\'')
    await expect.poll(async () => await page.getByTestId('move-here').textContent()).toMatch(/^Your record is kept by hospital-a\./)

    // A node whose offer moves the chain elsewhere: refused on the device, nothing sent.
    await page.route('**/v1/users/*/continuation?*', async (route) => {
      const reply = await route.fetch()
      const body = await reply.json() as { plain: { to: string } }
      body.plain.to = 'hospital-a'
      await route.fulfill({ response: reply, json: body })
    })
    await page.getByRole('button', { name: 'Move my record to hospital-b' }).click()
    await expect.poll(async () => await page.getByTestId('move-error').textContent()).toMatch(/moves the chain to hospital-a, not to hospital-b.*ROLE_FORBIDDEN/)
    const staffB = await staffToken(b)
    expect((await call(b.url, 'GET', `/v1/users/${patient.keys[0].userId}`, { token: staffB })).body).toMatchObject({ custodian: 'hospital-a', chainKey: patient.oldKey })

    await page.unroute('**/v1/users/*/continuation?*')
    await page.getByRole('button', { name: 'Move my record to hospital-b' }).click()
    await expect.poll(async () => await page.getByTestId('move-done').textContent(), { timeout: 30_000 })
      .toBe('Your record is kept by hospital-b now, from entry #2 on.')
    const summary = (await call(b.url, 'GET', `/v1/users/${patient.keys[0].userId}`, { token: staffB })).body
    expect(summary).toMatchObject({ custodian: 'hospital-b', length: 3 })
    expect(summary.chainKey).not.toBe(patient.oldKey)
    expect(problems).toEqual([])
    await context.close()
  })

  it('renews the keys with the phrase typed again (another phrase renews nothing); the timeline checks every entry', async () => {
    const { page, context, problems } = await openConsole(browser, b.url, DESKTOP)
    await signInAsPatient(page, patient.phrase)
    await page.evaluate('location.hash = \'/patient/custody\'')
    await page.getByTestId('renew-form').waitFor()
    expect(await page.getByTestId('move-here').textContent()).toBe('Your record is kept here, by hospital-b.')
    await page.getByLabel('Your recovery phrase, to renew your keys').fill(newRecoveryPhrase())
    await page.getByRole('button', { name: 'Renew my keys' }).click()
    await expect.poll(async () => await page.getByTestId('renew-error').textContent()).toMatch(/not the one you signed in with.*BAD_PHRASE/)

    await page.getByLabel('Your recovery phrase, to renew your keys').fill(patient.phrase)
    await page.getByRole('button', { name: 'Renew my keys' }).click()
    await expect.poll(async () => await page.getByTestId('renew-done').textContent()).toBe('Your keys were renewed: generation 1 is in force.')
    await screenshot(page, 'patient-custody')
    // The node takes only the new key now.
    await expect(userToken(b, patient.keys[0])).rejects.toThrow(/LOGIN_REFUSED/)
    expect(await userToken(b, patient.keys[1])).toMatch(/./)

    await page.evaluate('location.hash = \'/patient\'')
    await expect.poll(async () => await page.getByTestId('timeline-count').textContent()).toBe('4 entries, 4 checked on this device.')
    expect(await page.locator('[data-seq="2"]').getByTestId('entry-title').textContent()).toBe('Moved to hospital-b, by you')
    expect(await page.locator('[data-seq="3"]').getByTestId('entry-title').textContent()).toBe('Keys renewed (generation 1)')
    expect(problems).toEqual([])
    await context.close()
  })

  it('the regulator\'s verify screen lists the two cores and checks the continuation\'s head', async () => {
    const regulator = net.node('regulator')
    const staffR = await staffToken(regulator)
    const newKey = (await call(b.url, 'GET', `/v1/users/${patient.keys[0].userId}`, { token: await staffToken(b) })).body.chainKey as string
    await waitUntil(async () => {
      const reply = await call(regulator.url, 'GET', `/v1/users/${patient.keys[0].userId}`, { token: staffR })
      return reply.status === 200 && reply.body.chainKey === newKey && reply.body.verifiedLength >= 4
    }, 'the regulator to follow the move', 30_000)
    const { page, context, problems } = await openConsole(browser, regulator.url, DESKTOP)
    await signInAsStaff(page, regulator.apiKey)
    await page.goto(`/#/auditor/verify/${patient.keys[0].userId}`)
    await page.getByTestId('verify-headline').waitFor({ timeout: 30_000 })
    expect(await page.getByTestId('verify-headline').textContent()).toMatch(/^Valid\./)
    expect(await page.getByTestId('segment-row').allTextContents()).toEqual([
      expect.stringMatching(/0–1$/), expect.stringMatching(/2–3$/)
    ])
    expect(await page.getByTestId('segments-disagree').count()).toBe(0)
    expect(await page.getByTestId('segments-problem').count()).toBe(0)
    expect(await page.getByTestId('head-signature').textContent()).toMatch(/^valid at length \d+/)
    await screenshot(page, 'auditor-verify-moved')
    expect(problems).toEqual([])
    await context.close()
  })
})
