/**
 * Backup and restore with real daemons on loopback: a backup of a running
 * node while a writer appends exams; a restore into a fresh directory that
 * verifies every chain, serves reads and rejoins the network (a write on it
 * reaches a peer); writes acknowledged after the backup point come back from
 * the replica; a node restored from a backup taken before an erasure holds
 * none of the erased entry once it caught up; a corrupted, truncated or
 * newer backup and a non-empty target are refused with nothing written; a
 * plain copy of a data directory is still refused (STORE_MOVED).
 */
import { cp, mkdir, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { buildUserEntry, fromHex, type UserId } from '@healthchain/core'
import { Ledger, LedgerError } from '@healthchain/ledger'
import { NetError } from '@healthchain/net'
import { NodeError, requestBackup, restoreBackup, verifyRestored, type BackupProgress } from '../src/index.js'
import { findOnDisk, markerText, missingOnDisk, textMarker } from '../../test/helpers/disk-scan.js'
import { cli, errorCode } from './helpers/cli.js'
import { call, enrolOverHttp, startConsortium, staffToken, userToken, waitUntil, type TestConsortium, type TestNode } from './helpers/daemons.js'
import { crypto } from './helpers/fixtures.js'
import { signAsUser, userWriteBody, type TestChain } from './helpers/user-writes.js'

let net: TestConsortium | undefined
afterEach(async () => { await net?.close(); net = undefined })

const exam = (n: number): { plain: { title: string, observations: Array<{ code: string, value: number, unit: string }> } } =>
  ({ plain: { title: `Pulse ${n}`, observations: [{ code: '8867-4', value: 60 + (n % 40), unit: '/min' }] } })

async function lengthAt (node: TestNode, user: UserId): Promise<number> {
  return node.daemon.ledger.hasChain(user) ? (await node.daemon.ledger.chain(user)).length : 0
}

/** Blocks held and checked: a core's length counts a signed head whose last blocks may not have arrived yet. */
async function verifiedAt (node: TestNode, user: UserId): Promise<number> {
  return node.daemon.ledger.hasChain(user) ? (await node.daemon.ledger.chain(user)).verifiedLength : 0
}

async function expectCode (promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(NodeError)
  expect((err as NodeError).code).toBe(code)
}

/** A consortium of two examiners, two users enrolled at hospital-a with one exam each, replicated to hospital-b. */
async function setUp (): Promise<{ a: TestNode, b: TestNode, users: UserId[] }> {
  net = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner']])
  const a = net.node('hospital-a')
  const b = net.node('hospital-b')
  const staff = await staffToken(a)
  const users: UserId[] = []
  for (let i = 0; i < 2; i++) {
    const { user } = await enrolOverHttp(a, staff)
    await a.daemon.writeExam(user.userId, exam(i))
    users.push(user.userId)
  }
  for (const user of users) await waitUntil(async () => await lengthAt(b, user) === 2, 'hospital-b to replicate the chains')
  return { a, b, users }
}

describe('healthchain backup and restore', () => {
  it('backs up a node under writes: everything acknowledged before the backup is in it, and the restore verifies every chain', async () => {
    const { a, b, users } = await setUp()
    const busy = users[0]!
    const dataDirA = a.daemon.layout.root
    const file = join(net!.dir, 'hospital-a.hcbackup')

    // A writer appends exams one after another; each acknowledgement is timed against the backup.
    const writing = { on: true }
    let n = 0
    const acked: Array<{ seq: number, at: number }> = []
    const writer = (async () => {
      while (writing.on) acked.push({ seq: (await a.daemon.writeExam(busy, exam(++n))).seq, at: Date.now() })
    })()
    await waitUntil(() => acked.length >= 5, 'the writer to get going')
    const started = Date.now()
    const progress: BackupProgress[] = []
    const summary = await requestBackup(dataDirA, file, (p) => { progress.push(p) })
    const ended = Date.now()
    const ackedAfter = acked.length
    await waitUntil(() => acked.length >= ackedAfter + 5, 'writes after the backup')
    writing.on = false
    await writer

    expect(summary).toMatchObject({ node: 'hospital-a', chains: 2 })
    expect(progress.at(-1)).toMatchObject({ stage: 'write' })
    expect(progress.at(-1)!.done).toBe(progress.at(-1)!.total)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const finalLength = await lengthAt(a, busy)
    await waitUntil(async () => await lengthAt(b, busy) === finalLength, 'hospital-b to replicate every acknowledged write')

    // The machine is lost: the node stops and its data directory is gone. A plain copy taken first is still refused.
    await net!.stop('hospital-a')
    const copy = join(net!.dir, 'copied-a')
    await cp(dataDirA, copy, { recursive: true, preserveTimestamps: true })
    const copied = await Ledger.open({ dir: join(copy, 'store') }).then(async (l) => { await l.close(); return undefined }, (e: unknown) => e)
    expect(copied).toBeInstanceOf(LedgerError)
    expect((copied as LedgerError).code).toBe('STORE_MOVED')
    await rm(dataDirA, { recursive: true, force: true })

    const manifest = await restoreBackup(file, dataDirA)
    expect(manifest.chains.map((c) => c.user).sort()).toEqual([...users].sort())
    const check = await verifyRestored(dataDirA, manifest)
    expect(check).toEqual({ chains: 2, valid: 2, problems: [] })
    // Everything acknowledged before the backup started is in it; nothing acknowledged after it ended is.
    const restored = await Ledger.open({ dir: join(dataDirA, 'store') })
    const restoredLength = (await restored.chain(busy)).length
    await restored.close()
    expect(restoredLength).toBeGreaterThanOrEqual(2 + acked.filter((w) => w.at < started).length)
    expect(restoredLength).toBeLessThanOrEqual(2 + acked.filter((w) => w.at <= ended).length)
    expect(restoredLength).toBeLessThan(finalLength)
  }, 60_000)

  it('a restored node serves reads and rejoins: a write on it reaches its peer', async () => {
    const { a, b, users } = await setUp()
    const [busy, quiet] = users as [UserId, UserId]
    const dataDirA = a.daemon.layout.root
    const file = join(net!.dir, 'hospital-a.hcbackup')
    await requestBackup(dataDirA, file)
    await net!.stop('hospital-a')
    await rm(dataDirA, { recursive: true, force: true })
    await restoreBackup(file, dataDirA)

    const a2 = await net!.restart('hospital-a')
    await a2.daemon.network.dial(b.daemon.network.addresses[0]!)
    // Restored: its own chains take writes once it has compared heads with its peer (here: nothing newer to fetch).
    await waitUntil(async () => (await call(a2.url, 'GET', '/readyz')).status === 200, 'the restored node to catch up')
    const token = await staffToken(a2)
    const read = await call(a2.url, 'GET', `/v1/users/${quiet}/entries`, { token })
    expect(read.status).toBe(200)
    expect(read.body.entries).toHaveLength(1)
    const write = await call(a2.url, 'POST', `/v1/users/${busy}/entries`, { token, body: { type: 'exam', ...exam(999) } })
    expect(write.status).toBe(201)
    expect(write.body.seq).toBe(2)
    await waitUntil(async () => await verifiedAt(b, busy) === 3, 'hospital-b to replicate the restored node\'s write')
    expect((await b.daemon.ledger.verify(busy)).valid).toBe(true)
  }, 60_000)

  // The replica is waited for by blocks checked, not by core length: its length counts a signed head (an upgrade) as soon as it
  // arrives, before the last blocks do, and a node stopped then takes those blocks with it — nobody could give them back.
  it('writes acknowledged after the backup point come back from a replica to the restored node', async () => {
    const { a, b, users } = await setUp()
    const busy = users[0]!
    const dataDirA = a.daemon.layout.root
    const file = join(net!.dir, 'hospital-a.hcbackup')
    await requestBackup(dataDirA, file)
    for (let i = 0; i < 20; i++) await a.daemon.writeExam(busy, exam(i))
    const finalLength = await lengthAt(a, busy)
    await waitUntil(async () => await verifiedAt(b, busy) === finalLength, 'hospital-b to hold every acknowledged write')
    await net!.stop('hospital-a')
    await rm(dataDirA, { recursive: true, force: true })
    await restoreBackup(file, dataDirA)
    const a2 = await net!.restart('hospital-a')
    await a2.daemon.network.dial(b.daemon.network.addresses[0]!)
    await waitUntil(async () => (await a2.daemon.ledger.chain(busy)).verifiedLength === finalLength, 'the restored node to fetch back the later writes')
    expect(await a2.daemon.ledger.verify(busy)).toMatchObject({ valid: true, length: finalLength, problems: [] })
  })

  it('a restored node holds writes to its own chains with CATCHING_UP until it caught up with a peer that holds more, across a restart', async () => {
    const { a, b, users } = await setUp()
    const busy = users[0]!
    const dataDirA = a.daemon.layout.root
    const file = join(net!.dir, 'hospital-a.hcbackup')
    await requestBackup(dataDirA, file)
    for (let i = 0; i < 5; i++) await a.daemon.writeExam(busy, exam(i))
    const finalLength = await lengthAt(a, busy)
    await waitUntil(async () => await verifiedAt(b, busy) === finalLength, 'hospital-b to hold every acknowledged write')
    await net!.stop('hospital-a')
    await rm(dataDirA, { recursive: true, force: true })
    await restoreBackup(file, dataDirA)

    // Not connected to its peer yet: held. The write is refused, not queued; readiness says why.
    let a2 = await net!.restart('hospital-a')
    const held = async (node: TestNode): Promise<void> => {
      const token = await staffToken(node)
      const write = await call(node.url, 'POST', `/v1/users/${busy}/entries`, { token, body: { type: 'exam', ...exam(100) } })
      expect([write.status, write.body.error.code]).toEqual([503, 'CATCHING_UP'])
      expect(write.body.error.message).toMatch(/compared heads with this node \(0 so far\)/)
      const err = await node.daemon.writeExam(busy, exam(101)).then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(NetError)
      expect((err as NetError).code).toBe('CATCHING_UP')
      const ready = await call(node.url, 'GET', '/readyz')
      expect([ready.status, ready.body.notReady]).toEqual([503, ['restore']])
      const status = await call(node.url, 'GET', '/v1/status')
      expect(status.body.catchUp).toEqual({ peersReconciled: 0, quorum: 1, chainsBehind: 0, blocksBehind: 0 })
      expect(await lengthAt(node, busy)).toBeLessThan(finalLength)
    }
    await held(a2)
    // Stopped before it caught up: the next start holds again.
    await net!.stop('hospital-a')
    a2 = await net!.restart('hospital-a')
    await held(a2)
    expect(JSON.parse(await readFile(join(dataDirA, 'restored.json'), 'utf8')).caughtUpAt).toBeUndefined()

    await a2.daemon.network.dial(b.daemon.network.addresses[0]!)
    await waitUntil(async () => (await call(a2.url, 'GET', '/readyz')).status === 200, 'the restored node to catch up')
    expect((await call(a2.url, 'GET', '/v1/status')).body.catchUp).toBeNull()
    expect(await verifiedAt(a2, busy)).toBe(finalLength)
    const token = await staffToken(a2)
    const write = await call(a2.url, 'POST', `/v1/users/${busy}/entries`, { token, body: { type: 'exam', ...exam(102) } })
    expect([write.status, write.body.seq]).toEqual([201, finalLength])
    await waitUntil(async () => await verifiedAt(b, busy) === finalLength + 1, 'hospital-b to replicate the write after the catch-up')
    expect((await b.daemon.ledger.verify(busy)).valid).toBe(true)
    expect(a2.daemon.network.forks).toEqual([])
    expect(b.daemon.network.forks).toEqual([])
    await waitUntil(async () => JSON.parse(await readFile(join(dataDirA, 'restored.json'), 'utf8')).caughtUpAt !== undefined, 'the marker to say so')

    // Caught up is written down: a later start takes writes at once, with no peer connected.
    await net!.stop('hospital-a')
    a2 = await net!.restart('hospital-a')
    expect((await call(a2.url, 'GET', '/readyz')).status).toBe(200)
    expect((await a2.daemon.writeExam(busy, exam(103))).seq).toBe(finalLength + 1)
  }, 90_000)

  it('--accept-restored-state takes writes at once and says so in the marker', async () => {
    const { a, users } = await setUp()
    const dataDirA = a.daemon.layout.root
    const file = join(net!.dir, 'hospital-a.hcbackup')
    await requestBackup(dataDirA, file)
    await net!.stop('hospital-a')
    await rm(dataDirA, { recursive: true, force: true })
    await restoreBackup(file, dataDirA)
    const a2 = await net!.restart('hospital-a', { daemon: { restore: { acceptRestoredState: true } } })
    expect((await call(a2.url, 'GET', '/readyz')).status).toBe(200)
    expect((await a2.daemon.writeExam(users[0]!, exam(7))).seq).toBe(2)
    expect(JSON.parse(await readFile(join(dataDirA, 'restored.json'), 'utf8'))).toMatchObject({ node: 'hospital-a', acceptedAt: expect.any(String) })
  })

  it('a node restored from a backup taken before an erasure holds no byte of the erased entry once it caught up, after a stop too', async () => {
    net = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner']])
    const a = net.node('hospital-a')
    const b = net.node('hospital-b')
    const staff = await staffToken(a)
    const { user, chainKey } = await enrolOverHttp(a, staff)
    const chain: TestChain = { user, chainKey: fromHex(chainKey, 32, 'chainKey') }
    const secret = textMarker(markerText('ERASED-AFTER-BACKUP'))
    const written = await call(a.url, 'POST', `/v1/users/${user.userId}/entries`, {
      token: staff, body: { type: 'exam', plain: { title: secret.name, observations: [{ code: '8867-4', value: 61, unit: '/min' }] } }
    })
    expect(written.status).toBe(201)
    await waitUntil(async () => await verifiedAt(b, user.userId) === 2, 'hospital-b to replicate the exam')
    const dataDirA = a.daemon.layout.root
    const file = join(net.dir, 'hospital-a.hcbackup')
    await requestBackup(dataDirA, file)

    // After the backup point the user erases the exam; hospital-b replicates the erasure.
    const seq = 2
    const erasure = signAsUser(chain, buildUserEntry('erasure', { entries: [written.body.seq as number] }, {}, crypto), seq)
    const erased = await call(a.url, 'POST', `/v1/users/${user.userId}/entries`, { token: await userToken(a, user), body: userWriteBody(erasure, seq) })
    expect(erased.status, JSON.stringify(erased.body)).toBe(201)
    await waitUntil(async () => await verifiedAt(b, user.userId) === 3, 'hospital-b to replicate the erasure')

    await net.stop('hospital-a')
    await rm(dataDirA, { recursive: true, force: true })
    await restoreBackup(file, dataDirA)
    // The control: the backup predates the erasure, so the restored directory holds the exam's text.
    expect(await missingOnDisk(dataDirA, [secret]), 'the restored directory before it caught up').toEqual([])

    const a2 = await net.restart('hospital-a')
    await a2.daemon.network.dial(b.daemon.network.addresses[0]!)
    await waitUntil(async () => (await call(a2.url, 'GET', '/readyz')).status === 200, 'the restored node to catch up')
    await waitUntil(async () => await verifiedAt(a2, user.userId) === 3, 'the restored node to fetch the erasure back')
    await a2.daemon.ledger.scrubsSettled()
    await a2.daemon.follower.idle()
    expect(await findOnDisk(dataDirA, [secret]), 'the restored node while it runs').toEqual([])
    await net.stop('hospital-a')
    expect(await findOnDisk(dataDirA, [secret]), 'the restored node after a stop').toEqual([])
  }, 60_000)

  it('refuses a corrupted, truncated or newer backup and a non-empty target, writing nothing', async () => {
    const { a } = await setUp()
    const file = join(net!.dir, 'a.hcbackup')
    await requestBackup(a.daemon.layout.root, file)
    const bytes = await readFile(file)
    const target = join(net!.dir, 'restored')

    const corrupted = join(net!.dir, 'corrupted.hcbackup')
    const flipped = Buffer.from(bytes)
    flipped[flipped.length - 100] = flipped[flipped.length - 100]! ^ 0xff
    await writeFile(corrupted, flipped)
    await expectCode(restoreBackup(corrupted, target), 'BACKUP_INVALID')

    const truncated = join(net!.dir, 'truncated.hcbackup')
    await writeFile(truncated, bytes.subarray(0, bytes.length - 1000))
    await expectCode(restoreBackup(truncated, target), 'BACKUP_INVALID')

    const newer = join(net!.dir, 'newer.hcbackup')
    const future = Buffer.from(bytes)
    future.writeUInt32BE(2, 8)
    await writeFile(newer, future)
    await expectCode(restoreBackup(newer, target), 'BACKUP_VERSION')

    await expectCode(restoreBackup(join(net!.dir, 'governance.json'), target), 'BACKUP_INVALID')
    // Nothing was written: no target, no temporary directory beside it.
    expect((await readdir(net!.dir)).filter((name) => name.includes('restor'))).toEqual([])

    await mkdir(target)
    await (await open(join(target, 'something'), 'w')).close()
    await expectCode(restoreBackup(file, target), 'RESTORE_TARGET')
    expect(await readdir(target)).toEqual(['something'])

    // A backup never overwrites a file.
    await expectCode(requestBackup(a.daemon.layout.root, file), 'DATA_FILE')
    expect(await readFile(file)).toEqual(bytes)
  })

  it('the CLI backs up a running and a stopped node, checks a file and restores it, with progress on stderr and codes on failure', async () => {
    const { a, users } = await setUp()
    const dir = a.daemon.layout.root
    const running = await cli(['backup', '--dir', dir, '--out', join(net!.dir, 'running.hcbackup'), '--json'])
    expect(running.code).toBe(0)
    expect(running.json()).toMatchObject({ node: 'hospital-a', chains: 2, running: true })
    expect(running.stderr).toMatch(/backup: written parts (\d+)\/\1/)

    await net!.stop('hospital-a')
    const file = join(net!.dir, 'stopped.hcbackup')
    const stopped = await cli(['backup', '--dir', dir, '--out', file, '--json'])
    expect(stopped.code).toBe(0)
    expect(stopped.json()).toMatchObject({ node: 'hospital-a', chains: 2, running: false })

    const checked = await cli(['restore', '--from', file, '--check', '--json'])
    expect(checked.json()).toMatchObject({ node: 'hospital-a', chains: 2 })
    const target = join(net!.dir, 'restored-a')
    const restored = await cli(['restore', '--from', file, '--data-dir', target, '--json'])
    expect(restored.code).toBe(0)
    expect(restored.json()).toMatchObject({ node: 'hospital-a', chains: 2, valid: 2, problems: [] })
    expect(restored.stderr).toMatch(/restore: verified chains 2\/2/)
    const again = await cli(['restore', '--from', file, '--data-dir', target])
    expect([again.code, errorCode(again)]).toEqual([1, 'RESTORE_TARGET'])

    const broken = join(net!.dir, 'broken.hcbackup')
    const bytes = await readFile(file)
    await writeFile(broken, bytes.subarray(0, bytes.length >> 1))
    const refused = await cli(['restore', '--from', broken, '--data-dir', join(net!.dir, 'other')])
    expect([refused.code, errorCode(refused)]).toEqual([1, 'BACKUP_INVALID'])
    expect(users).toHaveLength(2)
  })
})
