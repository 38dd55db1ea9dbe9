/**
 * The console's test harness: real Chromium (Debian's `chromium`, driven
 * by playwright-core) against real nodes on 127.0.0.1 that serve the built
 * console (console/dist) at / on their API's origin.
 *
 * Every page opened here fails its test if it asks anything of another
 * origin, if the browser reports a Content-Security-Policy violation, or if
 * a script throws: the console promises to stay on its node's origin.
 *
 * Screenshots: `screenshot(page, name)` writes docs/screenshots/<name>.png
 * only when HEALTHCHAIN_SCREENSHOTS=1 (`npm run screenshots`), so a test run
 * never rewrites the docs.
 */
import { access, mkdir } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const CONSOLE_DIST = join(ROOT, 'console/dist')
export const SCREENSHOT_DIR = join(ROOT, 'docs/screenshots')

/** Where Chromium is: HEALTHCHAIN_CHROMIUM, else Debian's package. */
export const CHROMIUM_PATH = process.env.HEALTHCHAIN_CHROMIUM ?? '/usr/bin/chromium'

/** A phone-sized screen (a common 6.1" phone, in CSS pixels). */
export const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }
export const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 860 } }

export async function launchBrowser (): Promise<Browser> {
  try {
    await access(CHROMIUM_PATH)
  } catch {
    throw new Error(`Chromium is not at ${CHROMIUM_PATH}: install Debian's package (apt-get install -y chromium) or set HEALTHCHAIN_CHROMIUM`)
  }
  try {
    await access(join(CONSOLE_DIST, 'index.html'))
  } catch {
    throw new Error('The console is not built (console/dist/index.html is missing): run npm run build:console')
  }
  return await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // No sandbox: CI runs as root. No background networking: the machine has no way out, and the console needs none.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-default-apps', '--disable-extensions']
  })
}

export interface WatchedPage {
  readonly page: Page
  readonly context: BrowserContext
  /** Requests to any origin but the node's, CSP violations and uncaught errors seen so far. */
  readonly problems: string[]
}

/**
 * A new context (its own storage) and page on `origin`, watched for
 * requests to other origins, CSP violations and uncaught script errors.
 */
export async function openConsole (browser: Browser, origin: string, opts: BrowserContextOptions = DESKTOP): Promise<WatchedPage> {
  const context = await browser.newContext({ ...opts, baseURL: origin })
  const page = await context.newPage()
  const problems: string[] = []
  const own = new URL(origin).origin
  page.on('request', (request) => {
    const url = new URL(request.url())
    if (url.protocol === 'data:' || url.protocol === 'blob:') return
    if (url.origin !== own) problems.push(`request to another origin: ${request.url()}`)
  })
  page.on('pageerror', (error) => { problems.push(`uncaught error: ${error.message}`) })
  page.on('console', (message) => {
    const text = message.text()
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(text)) problems.push(`CSP: ${text}`)
  })
  await page.goto('/')
  return { page, context, problems }
}

export async function screenshot (page: Page, name: string): Promise<void> {
  if (process.env.HEALTHCHAIN_SCREENSHOTS !== '1') return
  await mkdir(SCREENSHOT_DIR, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true })
}

/** Signs in with a staff API key through the sign-in screen, as a person would. */
export async function signInAsStaff (page: Page, apiKey: string): Promise<void> {
  await page.getByRole('tab', { name: /Staff/ }).click()
  await page.getByLabel('API key').fill(apiKey)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByTestId('signed-in-as').waitFor()
}

/** Signs in as a patient with the recovery phrase typed into the sign-in screen. */
export async function signInAsPatient (page: Page, phrase: string): Promise<void> {
  await page.getByLabel('Your recovery phrase').fill(phrase)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByTestId('signed-in-as').waitFor()
}
