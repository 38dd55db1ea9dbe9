/**
 * The console shell in real Chromium against real nodes: served at / on
 * the API's origin under a strict Content-Security-Policy, nothing asked of
 * another origin, each staff role lands on its own party's screens, and a
 * wrong API key is refused with a message a person can read.
 */
import { CONTENT_SECURITY_POLICY } from '@healthchain/node'
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
    // The node's own key with one character of its secret changed: well-formed, but not a key this node issued.
    // (Not the last character: it carries only part of a byte, and a change there can make the encoding malformed.)
    const at = node.apiKey.length - 10
    const wrong = node.apiKey.slice(0, at) + (node.apiKey[at] === 'A' ? 'B' : 'A') + node.apiKey.slice(at + 1)
    await page.getByLabel('API key').fill(wrong)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(async () => await page.getByTestId('login-error').textContent()).toMatch(/refused|not valid/i)
    expect(problems).toEqual([])
    await context.close()
  })

  it('answers / with the console under the strict Content-Security-Policy, and the manifest as a manifest', async () => {
    const node = consortium.node('hospital-a')
    const page = await fetch(`${node.url}/`)
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY)
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'")
    expect(await page.text()).toContain('<div id="app">')
    const manifest = await fetch(`${node.url}/manifest.webmanifest`)
    expect(manifest.headers.get('content-type')).toMatch(/^application\/manifest\+json/)
    const body = await manifest.json() as { icons: Array<{ src: string }> }
    for (const icon of body.icons) expect((await fetch(`${node.url}${icon.src}`)).status).toBe(200)
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
