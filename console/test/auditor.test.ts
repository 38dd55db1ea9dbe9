/**
 * The regulator's screens in real Chromium against a real consortium (two
 * hospitals, an agency, the regulator whose auditors sign in), seeded over
 * HTTP: the network page lists the four institutions as connected with the
 * custodian's chains, refreshes itself, shows a fork proof in red when the
 * custodian signs two histories of a chain, and a suspension the governance
 * key signed; the verify page finds a chain by the start of its id, shows a
 * valid report and the head and cosignature it checked in the browser, and
 * says in words when a chain is not held.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import { bytesToHex, encodeRegistryEntry, fromHex, utf8ToBytes } from '@healthchain/core'
import { readPartyKeys } from '@healthchain/ledger'
import { coreOf, storeOf } from '@healthchain/ledger/testing'
import { HEADS_TOPIC, encodeHeadsAnnouncement, headOf, type SignedHead } from '@healthchain/net'
import { signRegistryEntryFor } from '@healthchain/node'
import { call, enrolOverHttp, startConsortium, staffToken, waitUntil, type TestConsortium, type TestNode } from '@healthchain/node/testing'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DESKTOP, PHONE, launchBrowser, openConsole, screenshot, signInAsStaff } from './browser.js'

const EXAM = { type: 'exam', plain: { title: 'Blood pressure', observations: [{ code: '8480-6', value: 128, unit: 'mm[Hg]' }] } }
const INSTITUTIONS = ['hospital-a', 'hospital-b', 'agency', 'regulator']

let net: TestConsortium
let hospital: TestNode
let regulator: TestNode
let browser: Browser
let hospitalToken: string
let regulatorToken: string
const patients: Array<{ userId: string, chainKey: string }> = []
const scratch: string[] = []

async function lengthAtRegulator (userId: string): Promise<number> {
  const reply = await call(regulator.url, 'GET', `/v1/users/${userId}`, { token: regulatorToken })
  return reply.status === 200 ? reply.body.length as number : -1
}

async function writeExam (userId: string): Promise<void> {
  const reply = await call(hospital.url, 'POST', `/v1/users/${userId}/entries`, { token: hospitalToken, body: EXAM })
  expect(reply.status, JSON.stringify(reply.body)).toBe(201)
}

async function enrolWithExam (): Promise<{ userId: string, chainKey: string }> {
  const { user, chainKey } = await enrolOverHttp(hospital, hospitalToken)
  await writeExam(user.userId)
  await waitUntil(async () => await lengthAtRegulator(user.userId) === 2, 'the regulator to replicate the chain', 20_000)
  return { userId: user.userId, chainKey }
}

beforeAll(async () => {
  net = await startConsortium(INSTITUTIONS.map((id) => [id, id === 'agency' ? 'inquirer' : id === 'regulator' ? 'regulator' : 'examiner'] as const))
  hospital = net.node('hospital-a')
  regulator = net.node('regulator')
  hospitalToken = await staffToken(hospital)
  regulatorToken = await staffToken(regulator)
  for (let i = 0; i < 3; i++) patients.push(await enrolWithExam())
  // The regulator's witness cosigns a head when asked for it: ask, so there is a cosignature to show and check.
  const head = async (): Promise<{ cosignatures?: unknown[] }> =>
    (await call(regulator.url, 'GET', `/v1/users/${patients[0]!.userId}/head`, { token: regulatorToken })).body
  await waitUntil(async () => ((await head()).cosignatures?.length ?? 0) > 0,
    'the regulator to cosign the chain\'s head')
  browser = await launchBrowser()
}, 90_000)

afterAll(async () => {
  await browser?.close()
  await net?.close()
  for (const dir of scratch) await rm(dir, { recursive: true, force: true })
})

async function signedIn (opts = DESKTOP): Promise<Awaited<ReturnType<typeof openConsole>>> {
  const watched = await openConsole(browser, regulator.url, { ...opts, timezoneId: 'UTC' })
  await signInAsStaff(watched.page, regulator.apiKey)
  return watched
}

const row = (page: Page, id: string) => page.locator(`[data-testid=institution-row][data-id="${id}"]`)

describe('regulator console: the network', () => {
  it('lists the four institutions, the three others connected, the custodian\'s chains, and refreshes itself', async () => {
    const { page, context, problems } = await signedIn()
    await row(page, 'hospital-a').waitFor()
    expect(await page.getByTestId('institution-row').count()).toBe(4)
    for (const id of INSTITUTIONS) {
      expect(await row(page, id).getByTestId('registry-status').textContent()).toBe('active')
      expect(await row(page, id).getByTestId('connection').textContent()).toBe(id === 'regulator' ? 'this node' : 'connected')
    }
    // The census counts custody in the background: the page shows it once counted.
    await expect.poll(async () => await row(page, 'hospital-a').getByTestId('custody').textContent(), { timeout: 15_000 }).toBe(String(patients.length))
    expect(await row(page, 'agency').getByTestId('custody').textContent()).toBe('0')
    expect(await page.getByTestId('chains-held').textContent()).toBe(String(patients.length))
    // The regulator witnesses: the heads it cosigned show up as it cosigns them.
    await expect.poll(async () => Number(await page.getByTestId('cosigned').textContent()), { timeout: 15_000 }).toBeGreaterThan(0)
    expect(await page.getByTestId('forks').count()).toBe(0)
    const updated = await page.getByTestId('updated').textContent()
    expect(updated).toMatch(/^updated \d\d:\d\d:\d\d · refreshes every 5 s$/)
    await expect.poll(async () => await page.getByTestId('updated').textContent(), { timeout: 12_000 }).not.toBe(updated)
    await screenshot(page, 'auditor-network')
    expect(problems).toEqual([])
    await context.close()
  }, 45_000)
})

describe('regulator console: verify a chain', () => {
  it('finds a chain by the start of its id and shows a valid report, its head and a cosignature checked in the browser', async () => {
    const patient = patients[0]!
    const { page, context, problems } = await signedIn(PHONE)
    await page.goto('/#/auditor/verify')
    await page.getByLabel('User id, or its start').fill(patient.userId.slice(0, 6).toUpperCase())
    await page.getByRole('button', { name: 'Find' }).click()
    await page.getByRole('button', { name: patient.userId }).click()
    await page.getByTestId('verify-headline').waitFor()
    expect(await page.getByTestId('verify-headline').textContent()).toMatch(/^Valid\./)
    expect(await page.getByTestId('verify-user').textContent()).toBe(patient.userId)
    expect(await page.getByTestId('verify-verified').textContent()).toBe('2 of 2')
    expect(await page.getByTestId('verify-tree').textContent()).toMatch(/^ok 2 blocks checked/)
    expect(await page.getByTestId('verify-no-problems').textContent()).toBe('None.')
    // A chain that never moved: one core, all its positions.
    expect(await page.getByTestId('segments-none').textContent()).toBe('One core: the chain never moved to another custodian.')
    expect(await page.getByTestId('segment-row').allTextContents()).toEqual([expect.stringMatching(/0–1$/)])
    expect(await page.getByTestId('head-signature').textContent()).toBe('valid at length 2')
    expect(await page.getByTestId('head-chain').textContent()).toBe('yes')
    expect(await page.getByTestId('head-witnesses').textContent()).toBe('regulator')
    expect(await page.getByTestId('head-cosigned').textContent()).toMatch(/^[1-9]\d* valid of [1-9]/)
    expect(await page.getByTestId('cosignature-row').first().textContent()).toContain('valid')
    expect(await page.getByTestId('cosignature-row').filter({ hasText: 'does not verify' }).count()).toBe(0)
    await screenshot(page, 'auditor-verify')
    expect(problems).toEqual([])
    await context.close()
  })

  it('says in words when no chain is held for an id, and when no chain starts with a prefix', async () => {
    const { page, context, problems } = await signedIn()
    await page.goto(`/#/auditor/verify/${'a'.repeat(32)}`)
    await expect.poll(async () => await page.getByTestId('error').textContent().catch(() => '')).toContain('UNKNOWN_CHAIN')
    await page.getByLabel('User id, or its start').fill('zzzzzz')
    await page.getByRole('button', { name: 'Find' }).click()
    await expect.poll(async () => await page.getByTestId('find-empty').textContent().catch(() => '')).toContain('No chain held here starts with zzzzzz')
    await page.getByLabel('User id, or its start').fill('abc1')
    expect(await page.getByRole('button', { name: 'Find' }).isDisabled()).toBe(true)
    expect(problems).toEqual([])
    await context.close()
  })
})

describe('regulator console: forks and suspensions', () => {
  it('shows a fork proof in red when the custodian signs two histories of a chain, and the chain as forked', async () => {
    const patient = patients[1]!
    // The custodian's key pair in a second store (the same primary key, the same named core): another third block.
    const dir = await mkdtemp(join(tmpdir(), 'healthchain-console-fork-'))
    scratch.push(dir)
    const store = new Corestore(dir, { primaryKey: storeOf(hospital.daemon.ledger).primaryKey!, unsafe: true })
    let other: SignedHead
    try {
      const twin = store.get({ name: `chain/${patient.userId}` })
      await twin.ready()
      const chain = await hospital.daemon.ledger.chain(patient.userId as never)
      for (let seq = 0; seq < 2; seq++) await twin.append((await coreOf(chain).get(seq))!)
      await twin.append(utf8ToBytes('another third block'))
      other = await headOf(twin)
    } finally {
      await store.close()
    }
    await writeExam(patient.userId)
    await waitUntil(async () => await lengthAtRegulator(patient.userId) === 3, 'the regulator to replicate the third block')
    await net.node('agency').daemon.network.host.services.pubsub.publish(HEADS_TOPIC, encodeHeadsAnnouncement({ v: 1, heads: [other] }))

    const { page, context, problems } = await signedIn()
    await expect.poll(async () => await page.getByTestId('fork-row').count(), { timeout: 20_000 }).toBe(1)
    expect(await page.getByTestId('forks').textContent()).toContain('A custodian signed two histories')
    expect(await page.getByTestId('fork-row').getAttribute('data-user')).toBe(patient.userId)
    expect(await page.getByTestId('fork-custodian').textContent()).toBe('hospital-a')
    expect(await row(page, 'hospital-a').locator('td').nth(6).textContent()).toBe('1')
    await screenshot(page, 'auditor-network-fork')

    await page.goto(`/#/auditor/verify/${patient.userId}`)
    await expect.poll(async () => await page.getByTestId('verify-forked').textContent().catch(() => '')).toContain('signed two histories')
    expect(problems).toEqual([])
    await context.close()
  }, 45_000)

  it('shows an institution the governance key suspended as suspended', async () => {
    const governance = await readPartyKeys(join(net.dir, 'governance.json'))
    const registry = await call(hospital.url, 'GET', '/v1/registry', { token: hospitalToken })
    const key = fromHex(registry.body.key, 32, 'key')
    const entry = signRegistryEntryFor('suspend', { institution: 'hospital-b' as never }, key, registry.body.length, governance)
    const reply = await call(hospital.url, 'POST', '/v1/registry', { body: { entry: bytesToHex(encodeRegistryEntry(entry)) } })
    expect(reply.status, JSON.stringify(reply.body)).toBe(201)

    const { page, context, problems } = await signedIn()
    await expect.poll(async () => await row(page, 'hospital-b').getByTestId('registry-status').textContent().catch(() => ''), { timeout: 20_000 })
      .toBe('suspended')
    expect(await row(page, 'hospital-a').getByTestId('registry-status').textContent()).toBe('active')
    expect(problems).toEqual([])
    await context.close()
  }, 45_000)
})
