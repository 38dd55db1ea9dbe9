/**
 * `healthchain phone`, run in this process (runCli) against real daemons
 * (startConsortium: hospital-a, the custodian, and hospital-b, both
 * examiners, libp2p over TCP on 127.0.0.1): a user with a phrase file is
 * enrolled at hospital-a (`user enrol`), staff write an exam with a sealed
 * part, and the phone — a device directory of its own, dialling the
 * custodian's p2p address — is set up, syncs, imports the GPX and CSV
 * fixtures, shows the exam's sealed notes opened on the device, grants
 * hospital-b (which then reads the sealed notes) and revokes it; with the
 * custodian stopped an import is kept on the device and sent after the
 * restart. Refusals keep their codes; the phrase is never printed.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesToHex, newRecoveryPhrase } from '@healthchain/core'
import { writeRecoveryPhrase } from '@healthchain/ledger'
import { cli as runCliCapturing, errorCode, type CliRun } from './helpers/cli.js'
import { call, p2pAddress, startConsortium, staffToken, waitUntil, type TestConsortium } from './helpers/daemons.js'
import { makeTempDir, removeDir } from './helpers/fixtures.js'

/** Everything the commands printed, to check the phrase never appears in it. */
let printed = ''

async function cli (...argv: string[]): Promise<CliRun> {
  return await runCliCapturing(argv, (text) => { printed += text })
}

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

let dir: string
let net: TestConsortium | undefined

beforeAll(async () => { dir = await makeTempDir('healthchain-cli-phone-') })
afterAll(async () => {
  await net?.close()
  await removeDir(dir)
})

describe('healthchain phone: help and usage', () => {
  it('has --help with examples and --json on every command, and usage errors with exit 2', async () => {
    expect((await cli('--help')).stdout).toContain('  phone')
    for (const name of ['init', 'sync', 'import', 'timeline', 'grant', 'revoke', 'transfer', 'rotate', 'status']) {
      const help = await cli('phone', name, '--help')
      expect(help.code, name).toBe(0)
      expect(help.stdout, name).toContain('Examples:')
      expect(help.stdout, name).toContain('--json')
    }
    const cases: string[][] = [
      ['phone', 'init', '--device', 'd', '--phrase-file', 'p'], // no consortium
      ['phone', 'init', '--device', 'd', '--phrase-file', 'p', '--registry-key', 'ab'.repeat(32)], // no node
      ['phone', 'init', '--device', 'd', '--phrase-file', 'p', '--registry-key', 'xyz', '--node', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'],
      ['phone', 'init', '--device', 'd', '--phrase-file', 'p', '--registry-key', 'ab'.repeat(32), '--node', '/ip4/127.0.0.1/tcp/1'], // no /p2p
      ['phone', 'import', '--device', 'd'], // nothing to import
      ['phone', 'import', '--device', 'd', '--gpx', 'a.gpx', '--csv', 'b.csv'],
      ['phone', 'timeline', '--device', 'd', '--type', 'sleep'],
      ['phone', 'grant', '--device', 'd', '--examiner', 'hospital-b', '--until', 'next week'],
      ['phone', 'transfer', '--device', 'd'], // no --to
      ['phone', 'transfer', '--device', 'd', '--to', 'Hospital B']
    ]
    for (const argv of cases) {
      const run = await cli(...argv)
      expect(run.code, argv.join(' ')).toBe(2)
      expect(errorCode(run), `${argv.join(' ')}\n${run.stderr}`).toBe('USAGE')
    }
    const none = await cli('phone', 'status', '--device', join(dir, 'no-such-device'))
    expect(none.code).toBe(1)
    expect(errorCode(none)).toBe('NOT_A_DATA_DIR')
  })
})

describe('grants ending in the past', () => {
  it('are refused as usage errors before anything is read or sent, by `phone grant` and `user grant` alike', async () => {
    for (const argv of [
      ['phone', 'grant', '--device', 'd', '--examiner', 'hospital-b', '--until', '2020-01-01T00:00:00Z'],
      ['user', 'grant', '--api', 'http://127.0.0.1:9', '--institution', 'hospital-a', '--phrase-file', 'p', '--examiner', 'hospital-b', '--until', '2020-01-01T00:00:00Z']
    ]) {
      const run = await cli(...argv)
      expect(run.code, argv.join(' ')).toBe(2)
      expect(errorCode(run), run.stderr).toBe('USAGE')
      expect(run.stderr).toContain('2020-01-01T00:00:00.000Z has passed: the grant would never give access')
    }
    // A time still to come passes the option check (and then fails on the missing device, not on --until).
    const later = await cli('phone', 'grant', '--device', 'no-such-device', '--examiner', 'hospital-b', '--until', new Date(Date.now() + 86_400_000).toISOString())
    expect(errorCode(later)).toBe('NOT_A_DATA_DIR')
  })
})

describe('healthchain phone against real nodes', () => {
  it('sets up a device, syncs, imports GPX and CSV, shows opened exam notes, grants and revokes, and keeps writes while the custodian is down', async () => {
    net = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner']])
    const a = net.node('hospital-a')
    const b = net.node('hospital-b')
    const registryKey = bytesToHex(a.daemon.ledger.registry.key)

    // ---- a user with a phrase file, enrolled at hospital-a; staff write an exam with a sealed part
    const phrase = newRecoveryPhrase()
    const phraseFile = join(dir, 'alice.phrase.json')
    await writeRecoveryPhrase(phraseFile, phrase)
    const enrolled = await cli('user', 'enrol', '--api', a.url, '--api-key', a.apiKey, '--phrase-file', phraseFile, '--json')
    expect(enrolled.code, enrolled.stderr).toBe(0)
    const userId = enrolled.json().userId as string
    const tokenA = await staffToken(a)
    const exam = await call(a.url, 'POST', `/v1/users/${userId}/entries`, {
      token: tokenA,
      body: { type: 'exam', plain: { title: 'Check-up', observations: [{ code: '8480-6', value: 121, unit: 'mm[Hg]' }] }, sealed: { notes: 'sealed note: fasting glucose at the upper end of normal' } }
    })
    expect(exam.status).toBe(201)

    // ---- init (offline), then sync: the device finds its chain from the phrase alone
    const device = join(dir, 'alice-phone')
    const dev = ['--device', device]
    const init = await cli('phone', 'init', ...dev, '--phrase-file', phraseFile, '--registry-key', registryKey, '--node', p2pAddress(a), '--json')
    expect(init.code, init.stderr).toBe(0)
    expect(init.json()).toMatchObject({ userId, registryKey, nodes: [p2pAddress(a)] })
    expect(init.json().chainKey).toBeUndefined()

    const sync = await cli('phone', 'sync', ...dev, '--json')
    expect(sync.code, sync.stderr).toBe(0)
    expect(sync.json()).toMatchObject({ userId, length: 2, verifiedLength: 2, outbox: { pending: 0, failed: 0 } })
    expect(sync.json().connectedNodes).toEqual([a.daemon.network.peerId])
    expect((await cli('phone', 'sync', ...dev)).stdout).toContain('verified length  2')

    // ---- imports: sent at once, the custodian reachable
    const gpx = await cli('phone', 'import', ...dev, '--gpx', fixture('day.gpx'), '--json')
    expect(gpx.code, gpx.stderr).toBe(0)
    expect(gpx.json()).toMatchObject({ kind: 'gpx', records: 26, sent: 1, queued: 0, failed: 0, pending: 0 })
    expect(gpx.json().entries).toEqual([expect.objectContaining({ type: 'location', state: 'sent', seq: 2 })])
    const csv = await cli('phone', 'import', ...dev, '--csv', fixture('steps.csv'))
    expect(csv.code, csv.stderr).toBe(0)
    expect(csv.stdout).toContain('imported 6 rows from steps.csv as 6 exercise entries: 6 sent (positions 3–8)')

    // A bad file is refused whole with its line and field; nothing is queued.
    const badGpx = join(dir, 'bad.gpx')
    await writeFile(badGpx, '<?xml version="1.0"?>\n<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>\n<trkpt lat="52.5" lon="13.4"><time>2025-05-14T06:40:00Z</time></trkpt>\n<trkpt lat="52.5" lon="13.4"><time>yesterday</time></trkpt>\n</trkseg></trk></gpx>\n')
    const refused = await cli('phone', 'import', ...dev, '--gpx', badGpx)
    expect(refused.code).toBe(1)
    expect(errorCode(refused)).toBe('IMPORT_INVALID')
    expect(refused.stderr).toContain('bad.gpx: GPX line 4: trkpt.1.time')
    const badCsv = join(dir, 'bad.csv')
    await writeFile(badCsv, 'start,end,steps\n2025-05-14T06:00:00Z,2025-05-14T07:00:00Z,2140\n2025-05-14T07:00:00Z,2025-05-14T08:00:00Z,lots\n')
    const refusedCsv = await cli('phone', 'import', ...dev, '--csv', badCsv)
    expect(errorCode(refusedCsv)).toBe('IMPORT_INVALID')
    expect(refusedCsv.stderr).toContain('bad.csv: CSV line 3: steps: not a number')

    // ---- the timeline: the exam's sealed notes opened on the device
    const timeline = await cli('phone', 'timeline', ...dev, '--sync', '--json')
    expect(timeline.code, timeline.stderr).toBe(0)
    expect(timeline.json().verifiedLength).toBe(9)
    expect(timeline.json().items.map((i: { type: string }) => i.type)).toEqual(['exam', 'location', ...Array(6).fill('exercise')])
    const exams = (await cli('phone', 'timeline', ...dev, '--type', 'exam', '--json')).json().items
    expect(exams).toEqual([expect.objectContaining({ type: 'exam', author: 'hospital-a', sealed: { notes: 'sealed note: fasting glucose at the upper end of normal' } })])
    const human = await cli('phone', 'timeline', ...dev)
    expect(human.stdout).toContain('sealed (opened on this device): { "notes": "sealed note: fasting glucose at the upper end of normal" }')
    expect(human.stdout).toContain('steps 2140, distance 1610 m, active energy 96 kcal, heart rate 104 /min')
    expect(human.stdout).toContain('26 points, 2025-05-14 06:40Z to 2025-05-14 07:05Z')

    // ---- consent: hospital-b cannot open the exam until the grant (history re-wrapped), then can
    const tokenB = await staffToken(b)
    const readB = async (): Promise<any> => (await call(b.url, 'GET', `/v1/users/${userId}/entries?type=exam`, { token: tokenB })).body
    await waitUntil(async () => (await readB()).entries?.length === 1, 'hospital-b to replicate the exam')
    expect((await readB()).entries[0].sealed).toMatchObject({ readable: false })
    const unknown = await cli('phone', 'grant', ...dev, '--examiner', 'hospital-z')
    expect(errorCode(unknown)).toBe('UNKNOWN_EXAMINER')
    const grant = await cli('phone', 'grant', ...dev, '--examiner', 'hospital-b', '--json')
    expect(grant.code, grant.stderr).toBe(0)
    expect(grant.json()).toMatchObject({ examiner: 'hospital-b', rewrapped: 1, entries: [expect.objectContaining({ type: 'consent', state: 'sent', seq: 9 })] })
    await waitUntil(async () => (await readB()).entries[0].sealed.readable === true, 'hospital-b to read the sealed notes after the grant')
    expect((await readB()).entries[0].sealed.data).toEqual({ notes: 'sealed note: fasting glucose at the upper end of normal' })
    const revoke = await cli('phone', 'revoke', ...dev, '--examiner', 'hospital-b', '--json')
    expect(revoke.code, revoke.stderr).toBe(0)
    expect(revoke.json().entries).toEqual([expect.objectContaining({ type: 'consent', state: 'sent', seq: 10 })])

    const status = await cli('phone', 'status', ...dev, '--json')
    expect(status.code, status.stderr).toBe(0)
    expect(status.json()).toMatchObject({ userId, connectedNodes: [a.daemon.network.peerId], outbox: { pending: 0, failed: 0 }, pending: [], failed: [] })
    expect(status.json().localLength).toBeGreaterThanOrEqual(9)
    // The text names each connected node as the registry does.
    expect((await cli('phone', 'status', ...dev)).stdout).toContain(`hospital-a  ${a.daemon.network.peerId}`)

    // ---- the custodian stopped: an import is kept on the device …
    await net.stop('hospital-a')
    const offline = await cli('phone', 'import', ...dev, '--csv', fixture('steps.csv'), '--json')
    expect(offline.code, offline.stderr).toBe(0)
    expect(offline.json()).toMatchObject({ sent: 0, queued: 6, pending: 6, stopped: { code: 'NOT_CONNECTED' } })
    const kept = await cli('phone', 'status', ...dev, '--offline', '--json')
    expect(kept.json()).toMatchObject({ connectedNodes: [], outbox: { pending: 6, failed: 0 } })
    expect(kept.json().pending.map((p: { type: string }) => p.type)).toEqual(Array(6).fill('exercise'))
    const down = await cli('phone', 'sync', ...dev)
    expect(down.code).toBe(1)
    expect(errorCode(down)).toBe('NOT_CONNECTED')

    // … and sent after the restart (the node listens on a new port: init again remembers it)
    const restarted = await net.restart('hospital-a')
    expect((await cli('phone', 'init', ...dev, '--phrase-file', phraseFile, '--registry-key', registryKey, '--node', p2pAddress(restarted))).code).toBe(0)
    const resent = await cli('phone', 'sync', ...dev, '--json')
    expect(resent.code, resent.stderr).toBe(0)
    expect(resent.json().sent).toHaveLength(6)
    expect(resent.json()).toMatchObject({ length: 17, verifiedLength: 17, outbox: { pending: 0, failed: 0 } })

    // The phrase was never printed, by any command.
    expect(printed).not.toContain(phrase.split(' ').slice(0, 4).join(' '))
  }, 120_000)
})
