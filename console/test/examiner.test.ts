/**
 * Examiner staff and the enrolment hand-over, in real Chromium against real
 * nodes (hospital-a, hospital-b, a regulator): staff open a code, the
 * patient's phone enrols itself with it (phrase made, saved, asked back,
 * genesis signed in the browser) and lands signed in; staff find the
 * patient, enter an exam by LOINC search (a wrong unit is stopped), upload
 * FHIR, and read why they may or may not open each sealed exam, before and
 * after the patient grants hospital-b.
 */
import { readFile } from 'node:fs/promises'
import { bytesToHex, decodeEntry, encodeEntry, fromHex, nobleProvider, userKeysFromPhrase, type InstitutionId, type UserKeys } from '@healthchain/core'
import { buildGrantEntries, signUserEntry, type SealedPast } from '@healthchain/client/user-side'
import { call, enrolOverHttp, staffToken, startConsortium, userToken, waitUntil, type TestConsortium, type TestNode } from '@healthchain/node/testing'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sealedAccess } from '../src/examiner/sealed-access.js'
import { searchExamCodes, unitProblem, EXAM_CODES } from '../src/examiner/loinc.js'
import { DESKTOP, PHONE, launchBrowser, openConsole, screenshot, signInAsStaff, type WatchedPage } from './browser.js'

const CODE = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/

let consortium: TestConsortium
let browser: Browser
let a: TestNode
let b: TestNode
let tokenA: string
let tokenB: string

beforeAll(async () => {
  consortium = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['regulator', 'regulator']])
  browser = await launchBrowser()
  a = consortium.node('hospital-a')
  b = consortium.node('hospital-b')
  tokenA = await staffToken(a)
  tokenB = await staffToken(b)
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await consortium?.close()
})

/** A watched page whose waits fail with the locator they waited for, well before the test's own timeout. */
async function open (origin: string, opts = DESKTOP): Promise<WatchedPage> {
  const watched = await openConsole(browser, origin, opts)
  watched.context.setDefaultTimeout(10_000)
  return watched
}

/** Waits for what the page shows, as long as the page's own waits (the enrolment page polls every two seconds). */
const poll = <T>(read: () => Promise<T>): ReturnType<typeof expect.poll<T>> => expect.poll(read, { timeout: 10_000, interval: 100 })

const texts = async (page: Page, testId: string): Promise<string[]> => await page.getByTestId(testId).allTextContents()

async function openPatient (page: Page, userId: string): Promise<void> {
  await page.goto(`/#/examiner/patient/${userId}`)
  await page.getByTestId('patient-id').waitFor()
}

/** The chain's length as `node` serves it (0 while it does not hold the chain). */
async function lengthAt (node: TestNode, token: string, userId: string): Promise<number> {
  const reply = await call(node.url, 'GET', `/v1/users/${userId}`, { token })
  return reply.status === 200 ? reply.body.verifiedLength as number : 0
}

describe('the enrolment hand-over', () => {
  it('staff open a code, the phone enrols itself with it and is signed in, the staff page turns to Enrolled', async () => {
    const staff = await open(a.url, DESKTOP)
    await signInAsStaff(staff.page, a.apiKey)
    await staff.page.getByRole('link', { name: 'Enrol a patient' }).click()
    await staff.page.getByRole('button', { name: 'Open an enrolment code' }).click()
    const code = (await staff.page.getByTestId('enrol-code').textContent()) ?? ''
    expect(code).toMatch(CODE)
    const link = await staff.page.getByTestId('join-link').getAttribute('href')
    expect(link).toBe(`${a.url}/#/join/${code}`)
    expect(await staff.page.getByTestId('enrol-expiry').textContent()).toMatch(/Valid once, until .+ enrolled with hospital-a/)
    await poll(async () => await staff.page.getByTestId('enrol-status').textContent()).toMatch(/Waiting for the patient/)
    await screenshot(staff.page, 'examiner-enrol')

    // The patient's phone opens the link: the code is filled in.
    const phone = await open(a.url, PHONE)
    await phone.page.goto(link!)
    expect(await phone.page.getByLabel('Your code').inputValue()).toBe(code)
    await phone.page.getByRole('button', { name: 'Continue' }).click()
    await phone.page.getByTestId('phrase').waitFor()
    const words = (await texts(phone.page, 'phrase-word')).map((t) => t.replace(/^\d+\s*/, '').trim())
    expect(words).toHaveLength(24)
    const phrase = words.join(' ')
    expect(await phone.page.getByTestId('phrase-warning').textContent()).toMatch(/Write these 24 words down.+nobody, not even the hospital, can recover them/)
    await screenshot(phone.page, 'patient-join')
    // The phrase file holds the phrase, as the CLI and the sign-in screen read it.
    const [download] = await Promise.all([phone.page.waitForEvent('download'), phone.page.getByTestId('phrase-file').click()])
    expect(download.suggestedFilename()).toBe('healthchain-recovery-phrase.json')
    const phraseFile = (await download.path())!
    expect(JSON.parse(await readFile(phraseFile, 'utf8'))).toEqual({ v: 1, kind: 'user-phrase', phrase })
    // Staff now see the phone has the code (the ticket is bound to its user id).
    await poll(async () => await staff.page.getByTestId('enrol-status').textContent()).toMatch(/phone has the code/)

    await phone.page.getByLabel(/I have written the 24 words down/).check()
    await phone.page.getByRole('button', { name: 'Continue' }).click()
    const asked = phone.page.getByTestId('confirm-word')
    expect(await asked.count()).toBe(2)
    const positions = await Promise.all([0, 1].map(async (i) => Number(await asked.nth(i).getAttribute('data-position'))))
    // A wrong word is caught on the phone, before anything is sent.
    await asked.nth(0).fill('wrong')
    await asked.nth(1).fill(words[positions[1]! - 1]!)
    await phone.page.getByRole('button', { name: 'Create my record' }).click()
    expect(await phone.page.getByTestId('confirm-wrong').textContent()).toBe(`Word #${positions[0]} is not right. Look again at what you wrote down.`)
    await asked.nth(0).fill(words[positions[0]! - 1]!.toUpperCase())
    await phone.page.getByRole('button', { name: 'Create my record' }).click()

    // Signed straight in, on the patient's own screens.
    await phone.page.getByTestId('signed-in-as').waitFor()
    expect(phone.page.url()).toBe(`${a.url}/#/patient`)
    const userId = userKeysFromPhrase(phrase, nobleProvider).userId
    expect(await phone.page.getByTestId('signed-in-as').textContent()).toBe(`patient ${userId.slice(0, 12)}…`)
    // Nothing of the phrase is in the phone's storage.
    const stored = await phone.page.evaluate<string>('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })')
    expect(stored).not.toContain(words[0]!)

    await poll(async () => await staff.page.getByTestId('enrol-status').textContent()).toMatch(/^Enrolled:/)
    expect(await staff.page.getByTestId('enrolled-user').textContent()).toBe(userId)
    await staff.page.getByRole('button', { name: 'Open the patient\'s page' }).click()
    expect(await staff.page.getByTestId('patient-id').textContent()).toBe(userId)
    await poll(async () => await staff.page.getByTestId('patient-custodian').textContent()).toBe('hospital-a (us)')

    // Over HTTP: the chain verifies, hospital-a is its custodian, and the genesis holds the phrase's keys.
    const summary = await call(a.url, 'GET', `/v1/users/${userId}`, { token: tokenA })
    expect(summary.body).toMatchObject({ userId, custodian: 'hospital-a', length: 1, forked: false })
    const verify = await call(a.url, 'GET', `/v1/users/${userId}/verify`, { token: tokenA })
    expect(verify.body).toMatchObject({ valid: true, length: 1, verified: 1, problems: [] })
    const genesis = await call(a.url, 'GET', `/v1/users/${userId}/entries?type=genesis&encoded=true`, { token: tokenA })
    const entry = decodeEntry(fromHex(genesis.body.entries[0].encoded, genesis.body.entries[0].encoded.length / 2, 'genesis'))
    const keys = userKeysFromPhrase(phrase, nobleProvider)
    expect(entry.type).toBe('genesis')
    expect(entry.type === 'genesis' && bytesToHex(entry.plain.user.sign)).toBe(bytesToHex(keys.sign.publicKey))
    expect(entry.type === 'genesis' && entry.plain.custodian).toBe('hospital-a')

    // Later, on another device: the saved phrase file signs the patient in.
    const later = await open(a.url, PHONE)
    await later.page.getByLabel('…or your phrase file').setInputFiles(phraseFile)
    await later.page.getByRole('button', { name: 'Sign in' }).click()
    await poll(async () => await later.page.getByTestId('signed-in-as').textContent()).toBe(`patient ${userId.slice(0, 12)}…`)

    expect(staff.problems).toEqual([])
    expect(phone.problems).toEqual([])
    expect(later.problems).toEqual([])
    await staff.context.close()
    await phone.context.close()
    await later.context.close()
  })

  it('says in words when a join code is unknown, or not a code at all', async () => {
    const phone = await open(a.url, PHONE)
    await phone.page.goto('/#/join/ZZZZ-ZZZZ-ZZZZ')
    await phone.page.getByRole('button', { name: 'Continue' }).click()
    await phone.page.getByTestId('join-error').waitFor()
    expect(await phone.page.getByTestId('join-error').textContent())
      .toMatch(/This code opens nothing: it may be mistyped, already used, or expired.+UNKNOWN_TICKET/)
    expect(await phone.page.getByTestId('phrase').count()).toBe(0)
    await phone.page.getByLabel('Your code').fill('12-34')
    await phone.page.getByRole('button', { name: 'Continue' }).click()
    await poll(async () => await phone.page.getByTestId('join-error').textContent()).toMatch(/A code has 12 letters and digits.+BAD_CODE/)
    expect(phone.problems).toEqual([])
    await phone.context.close()
  })
})

describe('a patient\'s record, for examiner staff', () => {
  let user: UserKeys
  let chainKey: string

  beforeAll(async () => {
    ({ user, chainKey } = await enrolOverHttp(a, tokenA))
  })

  it('finds the patient, enters an exam by LOINC search (a wrong unit stopped), uploads FHIR, and shows both in history and charts', async () => {
    const { page, context, problems } = await open(a.url, DESKTOP)
    await signInAsStaff(page, a.apiKey)
    await page.getByLabel('User id').fill(user.userId.slice(0, 6).toUpperCase())
    await page.getByRole('button', { name: 'Search' }).click()
    await page.getByTestId('patient-row').first().waitFor()
    expect(await texts(page, 'patient-row')).toContainEqual(expect.stringContaining(user.userId))
    await page.getByLabel('User id').fill('not-an-id!')
    await page.getByRole('button', { name: 'Search' }).click()
    expect(await page.getByTestId('find-problem').textContent()).toMatch(/only the letters a–z and the digits 2–7/)
    await page.getByLabel('User id').fill(user.userId)
    await page.getByRole('button', { name: 'Search' }).click()
    await page.getByRole('link', { name: user.userId }).click()
    expect(await page.getByTestId('patient-id').textContent()).toBe(user.userId)
    expect(await page.getByTestId('history-empty').textContent()).toMatch(/Nothing recorded yet/)

    await page.getByTestId('enter-exam').click()
    await page.getByLabel('Find a measurement').fill('gluc')
    expect(await texts(page, 'candidate')).toContainEqual(expect.stringContaining('Glucose [Mass/volume] in Blood · 2339-0 · mg/dL'))
    await page.getByTestId('candidate').filter({ hasText: '2339-0' }).click()
    await page.getByLabel('Value of Glucose [Mass/volume] in Blood').fill('131')
    await page.getByLabel('Unit of Glucose [Mass/volume] in Blood').fill('mm[Hg]')
    await page.getByLabel('Find a measurement').fill('hba1c')
    await page.getByTestId('candidate').first().click()
    await page.getByLabel('Value of Hemoglobin A1c/Hemoglobin.total in Blood').fill('6.1')
    await page.getByTestId('exam-row').filter({ hasText: 'A1c' }).getByLabel('sealed').check()
    await page.getByLabel('Notes (always sealed)').fill('Fasting since 8 pm')
    await page.getByRole('button', { name: 'Save the exam' }).click()
    expect(await texts(page, 'exam-problem')).toEqual(['mm[Hg] is not a unit of Glucose [Mass/volume] in Blood (2339-0): use mg/dL.'])
    expect(await lengthAt(a, tokenA, user.userId)).toBe(1)
    await screenshot(page, 'examiner-exam')
    await page.getByLabel('Unit of Glucose [Mass/volume] in Blood').fill('mg/dL')
    await page.getByRole('button', { name: 'Save the exam' }).click()
    await poll(async () => await page.getByTestId('exam-saved').textContent()).toMatch(/Saved as entry #1 /)

    // FHIR: a file that is not valid FHIR is refused in words; a valid Observation is stored.
    const systolic = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8480-6', display: 'Systolic blood pressure' }] },
      effectiveDateTime: '2026-03-01T09:30:00Z',
      valueQuantity: { value: 132, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' }
    }
    const upload = async (name: string, resource: unknown): Promise<void> => {
      await page.getByLabel('FHIR file').setInputFiles({ name, mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(resource)) })
      const before = await page.getByTestId('fhir-result').count()
      await page.getByRole('button', { name: 'Upload' }).click()
      await poll(async () => await page.getByTestId('fhir-result').count()).toBe(before + 1)
    }
    await upload('bad.json', { ...systolic, status: 'done' })
    expect(await page.getByTestId('fhir-result').first().textContent()).toMatch(/^refused bad\.json: .+FHIR_INVALID/)
    await upload('systolic.json', systolic)
    expect(await page.getByTestId('fhir-result').first().textContent()).toBe('stored systolic.json: stored as entry #2 (values plain)')

    await page.getByRole('link', { name: '← Back to the patient' }).click()
    await poll(async () => await page.getByTestId('history-entry').count()).toBe(2)
    const observations = await texts(page, 'observation')
    expect(observations).toContainEqual(expect.stringMatching(/^Glucose \[Mass\/volume\] in Blood: 131 mg\/dL out of range \(range 70–99\)/))
    expect(observations).toContainEqual(expect.stringMatching(/^Systolic blood pressure: 132 mm\[Hg\] out of range/))
    expect(await texts(page, 'sealed-observation')).toEqual([expect.stringMatching(/^Hemoglobin A1c\/Hemoglobin.total in Blood: 6.1 % out of range/)])
    // FHIR's values went plain; the node still seals an (empty) part for the exam, which reads as such.
    expect(await texts(page, 'sealed-open')).toEqual([
      'sealed, readable by usNothing else is sealed in this exam.',
      expect.stringMatching(/^sealed, readable by usHemoglobin A1c.+Notes: Fasting since 8 pm$/)
    ])
    // One chart per plain measurement, its points listed with the out-of-range mark.
    await poll(async () => await page.getByTestId('measurement').count()).toBe(2)
    const glucose = page.locator('[data-testid=measurement][data-code="2339-0"]')
    expect(await glucose.getByTestId('measurement-summary').textContent())
      .toMatch(/^1 reading, latest 131 mg\/dL on .+; reference 70–99 mg\/dL; 1 out of range$/)
    expect(await glucose.getByTestId('measurement-point').textContent()).toMatch(/131 mg\/dL ◆ out of range\s*hospital-a$/)
    expect(await glucose.locator('canvas').count()).toBe(1)
    expect(await page.locator('[data-testid=measurement][data-code="8480-6"]').getByTestId('measurement-point').textContent()).toContain('132 mm[Hg]')
    // hospital-a wrote the sealed exam: it may read it, and says why.
    expect(await texts(page, 'why-reason')).toEqual(Array(2).fill('We wrote it: an exam is always sealed for the hospital that writes it.'))
    expect(await page.getByTestId('patient-verified').textContent()).toBe('verified: 3 of 3 entries')
    expect(problems).toEqual([])
    await context.close()
  })

  it('hospital-b may not read the sealed exam until the patient grants it, and then says "granted by the patient"', async () => {
    await waitUntil(async () => await lengthAt(a, tokenA, user.userId) >= 2, 'the exams of the previous test')
    await waitUntil(async () => await lengthAt(b, tokenB, user.userId) >= 2, 'hospital-b to replicate the chain')
    const { page, context, problems } = await open(b.url, DESKTOP)
    await signInAsStaff(page, b.apiKey)
    await openPatient(page, user.userId)
    await page.getByTestId('why-row').first().waitFor()
    expect(await texts(page, 'why-reason')).toEqual(Array(2).fill('Not granted: the patient has not allowed us to read what other hospitals seal.'))
    expect(await texts(page, 'why-row')).toEqual(Array(2).fill(expect.stringContaining('not readable')))
    expect(await page.getByTestId('patient-custodian').textContent()).toBe('hospital-a')
    expect(await page.getByTestId('sealed-open').count()).toBe(0)

    // The patient grants hospital-b over HTTP, with the keys of the sealed exam re-wrapped for it.
    const token = await userToken(a, user)
    const mine = await call(a.url, 'GET', `/v1/users/${user.userId}/entries?encoded=true`, { token })
    const history: SealedPast[] = []
    for (const view of mine.body.entries as Array<{ seq: number, encoded: string }>) {
      const entry = decodeEntry(fromHex(view.encoded, view.encoded.length / 2, 'entry'))
      if (entry.type === 'exam' && entry.sealed !== undefined) history.push({ seq: view.seq, id: entry.id, sealed: entry.sealed })
    }
    expect(history.map((h) => h.seq)).toEqual([1, 2])
    const registry = await call(a.url, 'GET', '/v1/registry', { token: tokenA })
    const boxB = (registry.body.institutions as Array<{ id: string, box: string }>).find((i) => i.id === 'hospital-b')!.box
    const { entries } = buildGrantEntries({
      examiner: 'hospital-b' as InstitutionId, examinerBox: fromHex(boxB, 32, 'box'), history, chainKey: fromHex(chainKey, 32, 'chainKey'), userBox: user.box
    }, nobleProvider)
    expect(entries).toHaveLength(1)
    const signed = signUserEntry(entries[0]!, user, { chainKey: fromHex(chainKey, 32, 'chainKey'), seq: 3 }, nobleProvider)
    const wrote = await call(a.url, 'POST', `/v1/users/${user.userId}/entries`, { token, body: { entry: bytesToHex(encodeEntry(signed)), seq: 3 } })
    expect(wrote.status, JSON.stringify(wrote.body)).toBe(201)
    await waitUntil(async () => await lengthAt(b, tokenB, user.userId) >= 3, 'hospital-b to replicate the grant')

    await page.getByRole('button', { name: 'Refresh' }).click()
    await poll(async () => await texts(page, 'why-reason')).toEqual(
      Array(2).fill(expect.stringMatching(/^Granted by the patient on .+ in entry #3, which gave us the key of this earlier exam\.$/))
    )
    expect(await texts(page, 'why-row')).toEqual(Array(2).fill(expect.not.stringContaining('not readable')))
    expect(await page.getByTestId('why-mismatch').count()).toBe(0)
    expect(await texts(page, 'sealed-open')).toContainEqual(expect.stringContaining('Notes: Fasting since 8 pm'))
    expect(await texts(page, 'history-entry')).toContainEqual(expect.stringContaining('The patient allowed hospital-b to read their sealed results.'))
    await screenshot(page, 'examiner-patient')
    expect(problems).toEqual([])
    await context.close()
  })

  it('an unknown patient is said, not a blank page', async () => {
    const { page, context, problems } = await open(a.url, DESKTOP)
    await signInAsStaff(page, a.apiKey)
    await page.goto(`/#/examiner/patient/${'a'.repeat(32)}`)
    await page.getByTestId('unknown-patient').waitFor()
    expect(await page.getByTestId('unknown-patient').textContent())
      .toBe(`This node holds no record for the user id ${'a'.repeat(32)}. Check the id, or search by its first characters.`)
    await page.goto('/#/examiner/patient/not-an-id')
    await page.getByTestId('patient-summary').getByTestId('error').waitFor()
    expect(await page.getByTestId('patient-summary').getByTestId('error').textContent()).toMatch(/user id.+BAD_REQUEST$/)
    expect(problems).toEqual([])
    await context.close()
  })
})

describe('what the examiner screens derive by themselves', () => {
  const view = (seq: number, type: string, author: string, time: string, plain: unknown, sealed?: boolean): Parameters<typeof sealedAccess>[0][number] => ({
    seq,
    id: '00',
    type: type as 'exam',
    author,
    time,
    plain,
    ...(sealed === undefined ? {} : { sealed: sealed ? { readable: true, data: {} } : { readable: false } })
  })

  it('gives each sealed exam its reason: wrote, granted (until), re-wrapped, revoked, expired, not granted', () => {
    const entries = [
      view(1, 'exam', 'hospital-a', '2026-01-01T00:00:00Z', { observations: [] }, false),
      view(2, 'consent', 'user', '2026-01-02T00:00:00Z', { action: 'grant', examiner: 'me', until: Date.parse('2026-03-01T00:00:00Z') }),
      view(3, 'exam', 'hospital-a', '2026-01-03T00:00:00Z', { observations: [] }, true),
      view(4, 'exam', 'me', '2026-01-04T00:00:00Z', { observations: [] }, true),
      view(5, 'exam', 'hospital-a', '2026-04-01T00:00:00Z', { observations: [] }, false),
      view(6, 'consent', 'user', '2026-04-02T00:00:00Z', { action: 'revoke', examiner: 'me' }),
      view(7, 'exam', 'hospital-a', '2026-04-03T00:00:00Z', { observations: [] }, false),
      view(8, 'consent', 'user', '2026-04-04T00:00:00Z', { action: 'grant', examiner: 'other' }),
      view(9, 'consent', 'user', '2026-04-05T00:00:00Z', { action: 'grant', examiner: 'me', rewrap: { to: '', epk: '', keys: [{ seq: 1, wrap: '' }] } }),
      view(10, 'exam', 'hospital-a', '2026-04-06T00:00:00Z', { observations: [] }, false)
    ]
    const rows = sealedAccess(entries, 'me')
    expect(rows.map((r) => [r.seq, r.reason.kind, r.expected, r.opened])).toEqual([
      [1, 'granted-history', true, false],
      [3, 'granted', true, true],
      [4, 'wrote', true, true],
      [5, 'expired', false, false],
      [7, 'revoked', false, false],
      [10, 'granted', true, false]
    ])
    expect(sealedAccess(entries, 'stranger').map((r) => r.reason.kind)).toEqual(Array(6).fill('not-granted'))
  })

  it('finds codes by name, abbreviation or code, and checks units against the code\'s own', () => {
    expect(searchExamCodes('gluc').map((c) => c.code)).toEqual(expect.arrayContaining(['2339-0', '2345-7', '15074-8', '1558-6']))
    expect(searchExamCodes('hba1c').map((c) => c.code)).toEqual(['4548-4'])
    expect(searchExamCodes('8480-6').map((c) => c.code)).toEqual(['8480-6'])
    expect(searchExamCodes('nothing like this')).toEqual([])
    const glucose = EXAM_CODES.find((c) => c.code === '2339-0')!
    expect(unitProblem(glucose, 'mg/dL')).toBeUndefined()
    expect(unitProblem(glucose, 'MG/DL')).toBe('Units are case-sensitive: write mg/dL, not MG/DL.')
    expect(unitProblem(glucose, '')).toMatch(/Give the unit/)
    expect(new Set(EXAM_CODES.map((c) => c.code)).size).toBe(EXAM_CODES.length)
    expect(EXAM_CODES.length).toBeGreaterThanOrEqual(40)
  })
})
