/**
 * The patient's offline queue in real Chromium against a real node that is
 * stopped mid-session: the page says the node does not answer, writes made
 * meanwhile are kept on the device ("waiting to send"), and after the node
 * restarts on the same port they are sent by themselves, each appended
 * exactly once (the chain read back over HTTP). The queue lives in
 * IndexedDB only, never in localStorage or sessionStorage. A write whose
 * answer was lost is sent again under its id and appended once.
 */
import { startConsortium, staffToken, userToken, type TestConsortium, type TestNode } from '@healthchain/node/testing'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PHONE, launchBrowser, openConsole, signInAsPatient } from './browser.js'
import { enrolPatient, entriesAt, type SeededPatient } from './patient-seed.js'

let net: TestConsortium
let node: TestNode
let browser: Browser
let patient: SeededPatient

beforeAll(async () => {
  net = await startConsortium([['hospital-a', 'examiner']])
  node = net.node('hospital-a')
  patient = await enrolPatient(node, await staffToken(node))
  browser = await launchBrowser()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await net?.close()
})

describe('patient console, node stopped mid-session', () => {
  it('queues writes while the node does not answer and sends each exactly once when it is back', async () => {
    const { page, context, problems } = await openConsole(browser, node.url, PHONE)
    await signInAsPatient(page, patient.phrase)
    await page.getByTestId('timeline-count').waitFor({ timeout: 20_000 })
    await page.evaluate("location.hash = '/patient/write'")
    await page.getByLabel('Steps', { exact: true }).waitFor()

    await net.stop('hospital-a')
    await page.getByLabel('Steps', { exact: true }).fill('7777')
    await page.getByRole('button', { name: 'Sign and save exercise' }).click()
    await expect.poll(async () => await page.getByTestId('write-queued').textContent()).toMatch(/does not answer: 1 exercise entry kept on this device, waiting to send/)
    await page.getByLabel('Steps', { exact: true }).fill('8888')
    await page.getByRole('button', { name: 'Sign and save exercise' }).click()
    await expect.poll(async () => await page.getByTestId('waiting').textContent()).toMatch(/Waiting to send \(2\)/)
    expect(await page.getByTestId('node-unreachable').textContent()).toMatch(/The node does not answer/)
    // Kept in IndexedDB, never in the web storages.
    expect(await page.evaluate('[localStorage.length, sessionStorage.length]')).toEqual([0, 0])
    // (Evaluated as text: the repository's typecheck has no DOM library for tests.)
    const queued = await page.evaluate<number>(`new Promise((resolve, reject) => {
      const req = indexedDB.open('healthchain-outbox')
      req.onsuccess = () => {
        const count = req.result.transaction('writes').objectStore('writes').count()
        count.onsuccess = () => resolve(count.result)
        count.onerror = () => reject(count.error)
      }
      req.onerror = () => reject(req.error)
    })`)
    expect(queued).toBe(2)

    await net.restart('hospital-a', { samePort: true })
    await page.getByTestId('outbox').waitFor({ state: 'detached', timeout: 30_000 })
    // Still signed in: the session was renewed with the keys in memory, not ended.
    expect(await page.getByTestId('signed-in-as').count()).toBe(1)

    const restarted = net.node('hospital-a')
    const entries = await entriesAt(restarted, await userToken(restarted, patient.user), patient.user.userId)
    const steps = entries.filter((e) => e.type === 'exercise').map((e) => e.plain.observations[0].value as number)
    expect(steps).toEqual([7777, 8888])
    expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length)

    // The timeline shows them, checked.
    await page.evaluate("location.hash = '/patient'")
    await expect.poll(async () => await page.getByTestId('timeline-count').textContent(), { timeout: 20_000 }).toBe('3 entries, 3 checked on this device.')
    expect(problems).toEqual([])
    await context.close()
  }, 60_000)

  it('a write the node appended but whose answer was lost is sent again with its id and appended once (duplicate)', async () => {
    const { page, context, problems } = await openConsole(browser, net.node('hospital-a').url, PHONE)
    await signInAsPatient(page, patient.phrase)
    await page.getByTestId('timeline-count').waitFor({ timeout: 20_000 })
    await page.evaluate("location.hash = '/patient/write'")
    // The first POST reaches the node, which appends the entry; its answer never reaches the page.
    let lost = 0
    await page.route('**/v1/users/*/entries', async (route) => {
      if (route.request().method() !== 'POST' || lost > 0) return await route.continue()
      lost++
      await route.fetch()
      await route.abort('connectionreset')
    })
    await page.getByLabel('Steps', { exact: true }).fill('9999')
    await page.getByRole('button', { name: 'Sign and save exercise' }).click()
    await expect.poll(async () => await page.getByTestId('write-queued').textContent()).toMatch(/kept on this device/)
    // Sent again by the retry timer: the node knows the id, answers duplicate, and the queue empties.
    await page.getByTestId('outbox').waitFor({ state: 'detached', timeout: 20_000 })
    expect(lost).toBe(1)
    const node = net.node('hospital-a')
    const entries = await entriesAt(node, await userToken(node, patient.user), patient.user.userId)
    expect(entries.filter((e) => e.type === 'exercise' && e.plain.observations[0].value === 9999)).toHaveLength(1)
    expect(problems).toEqual([])
    await context.close()
  }, 60_000)
})
