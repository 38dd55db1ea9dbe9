/**
 * How a staff session behaves, in real Chromium against real nodes: a
 * token the node stops accepting (its API key revoked while the page is
 * open, or its time run out) sends the person back to the sign-in screen
 * with "Your session has ended" at their next action; a role on another party's screen is told it
 * may not (FORBIDDEN, in words); the node's audit log screen shows the
 * person's own sign-in.
 */
import { call, startConsortium, type TestConsortium } from '@healthchain/node/testing'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PHONE, launchBrowser, openConsole, signInAsStaff } from './browser.js'

let net: TestConsortium
let browser: Browser

beforeAll(async () => {
  net = await startConsortium([['hospital-a', 'examiner'], ['agency', 'inquirer'], ['regulator', 'regulator']])
  browser = await launchBrowser()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await net?.close()
})

describe('staff sessions', () => {
  it('a token the node no longer accepts ends the session at the next action, and the sign-in screen says so', async () => {
    const agency = net.node('agency')
    // A key of its own, so that revoking it leaves the others' sessions alone.
    const { apiKey, record } = await agency.daemon.apiKeys.create('session test', 'inquirer')
    const { page, context, problems } = await openConsole(browser, agency.url)
    await signInAsStaff(page, apiKey)
    await page.getByTestId('statistics').waitFor()
    await agency.daemon.apiKeys.revoke(record.id)

    await page.getByRole('link', { name: 'Audit log' }).click()
    await page.getByTestId('login').waitFor()
    expect(await page.getByTestId('session-ended').textContent()).toContain('Your session has ended')
    expect(await page.getByTestId('signed-in-as').count()).toBe(0)
    // Nothing of the ended session is left for a reload to bring back.
    await page.reload()
    await page.getByTestId('login').waitFor()
    expect(await page.getByTestId('signed-in-as').count()).toBe(0)
    // The revoked key cannot sign in again.
    await page.getByRole('tab', { name: /Staff/ }).click()
    await page.getByLabel('API key').fill(apiKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(async () => await page.getByTestId('login-error').textContent().catch(() => '')).toContain('REVOKED_KEY')
    expect(problems).toEqual([])
    await context.close()
  })

  it('a token that runs out of time ends the session the same way', async () => {
    // A node of its own whose tokens live 10 s (the shortest the config allows).
    const short = await startConsortium([['clinic', 'examiner']], { config: { auth: { tokenTtlSeconds: 10 } } })
    try {
      const clinic = short.node('clinic')
      const { page, context, problems } = await openConsole(browser, clinic.url)
      await signInAsStaff(page, clinic.apiKey)
      await page.getByRole('link', { name: 'Audit log' }).click()
      await page.getByTestId('audit-log').waitFor()
      const token = await page.evaluate<string>('JSON.parse(sessionStorage.getItem("healthchain.staff-session")).token')
      // Until the node itself refuses the token as expired (no sooner than its 10 s).
      await expect.poll(async () => (await call(clinic.url, 'GET', '/v1/audit', { token })).body?.error?.code, { timeout: 20_000, interval: 500 })
        .toBe('EXPIRED_TOKEN')

      await page.getByRole('link', { name: 'Patients' }).click()
      await page.getByLabel('User id').fill('aaaaaa')
      await page.getByRole('button', { name: 'Search' }).click()
      await page.getByTestId('login').waitFor()
      expect(await page.getByTestId('session-ended').textContent()).toContain('Your session has ended')
      expect(await page.getByTestId('signed-in-as').count()).toBe(0)
      expect(problems).toEqual([])
      await context.close()
    } finally {
      await short.close()
    }
  }, 60_000)

  it.each([
    ['agency', '/examiner', 'examiner staff', 'inquirer'],
    ['agency', '/auditor/verify', 'regulator auditors', 'inquirer'],
    ['regulator', '/analyst/trace', 'inquirer analysts', 'regulator']
  ])('staff of %s at #%s are told their role may not (FORBIDDEN)', async (id, route, who, role) => {
    const node = net.node(id)
    const { page, context, problems } = await openConsole(browser, node.url, PHONE)
    await signInAsStaff(page, node.apiKey)
    await page.goto(`/#${route}`)
    const refusal = page.getByTestId('forbidden')
    await refusal.waitFor()
    expect(await refusal.textContent()).toContain(`Your role may not do this. These screens are for ${who}; you are signed in as ${role}.`)
    expect(await refusal.locator('code').textContent()).toBe('FORBIDDEN')
    // The way back is a link to the role's own screens.
    await page.getByRole('link', { name: 'Back to your own screens' }).click()
    await expect.poll(async () => await page.getByTestId('forbidden').count()).toBe(0)
    expect(await page.evaluate('location.hash')).toBe(id === 'agency' ? '#/analyst' : '#/auditor')
    expect(problems).toEqual([])
    await context.close()
  })

  it('the audit log screen shows the person\'s own sign-in', async () => {
    const hospital = net.node('hospital-a')
    const { apiKey, record } = await hospital.daemon.apiKeys.create('audit log test', 'examiner')
    const { page, context, problems } = await openConsole(browser, hospital.url)
    await signInAsStaff(page, apiKey)
    await page.getByRole('link', { name: 'Audit log' }).click()
    const ours = page.locator('[data-testid=audit-log] tbody tr').filter({ hasText: `key:${record.id}` })
    await ours.first().waitFor()
    const login = ours.filter({ hasText: 'login' })
    expect(await login.count()).toBe(1)
    const cells = await login.locator('td').allTextContents()
    expect(cells[2]).toBe(`key:${record.id} (examiner)`)
    expect(cells[3]).toBe('login')
    expect(cells[5]).toBe('granted')
    expect(await page.getByTestId('audit-log').locator('h2').textContent()).toBe('Audit log of hospital-a')
    expect(problems).toEqual([])
    await context.close()
  })
})
