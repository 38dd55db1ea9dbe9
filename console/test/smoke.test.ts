/**
 * The console shell in real Chromium against real nodes: served at / on
 * the API's origin under a strict Content-Security-Policy, nothing asked of
 * another origin, each staff role lands on its own party's screens, and a
 * wrong API key is refused with a message a person can read.
 */
import { startConsortium, type TestConsortium } from '@healthchain/node/testing'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, openConsole, signInAsStaff } from './browser.js'

describe('console shell', () => {
  let consortium: TestConsortium
  let browser: Browser

  beforeAll(async () => {
    consortium = await startConsortium([['hospital-a', 'examiner'], ['agency', 'inquirer'], ['regulator', 'regulator']])
    browser = await launchBrowser()
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await consortium?.close()
  })

  it('is served at / with the node name, and a wrong API key is refused in words', async () => {
    const node = consortium.node('hospital-a')
    const { page, context, problems } = await openConsole(browser, node.url)
    await expect.poll(async () => await page.getByTestId('node-name').textContent()).toContain('hospital-a')
    await page.getByRole('tab', { name: /Staff/ }).click()
    await page.getByLabel('API key').fill('hck_nope_nope')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(async () => await page.getByTestId('login-error').textContent()).toMatch(/refused|not valid/i)
    expect(problems).toEqual([])
    await context.close()
  })

  it.each([
    ['hospital-a', 'Examiner'],
    ['agency', 'Analyst'],
    ['regulator', 'Regulator']
  ])('staff of %s land on the %s screens', async (id, title) => {
    const node = consortium.node(id)
    const { page, context, problems } = await openConsole(browser, node.url)
    await signInAsStaff(page, node.apiKey)
    await expect.poll(async () => await page.locator('nav.tabs-nav .party').textContent()).toBe(title)
    expect(problems).toEqual([])
    await context.close()
  })
})
