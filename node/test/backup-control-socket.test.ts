/**
 * The backup control socket of a running node, attacked from the machine:
 * its mode (owner only, whatever the process umask or the data directory's
 * mode), a client that sends garbage, a client that connects and never ends
 * its request, and a client that asks for a backup and never reads the
 * answer (the store must not stay quiesced: writes go on).
 */
import { connect, type Socket } from 'node:net'
import { execFileSync } from 'node:child_process'
import { readdir, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { CONTROL_SOCKET, CONTROL_REQUEST_TIMEOUT_MS, NodeError, readArchive, requestBackup } from '../src/index.js'
import { enrolOverHttp, startConsortium, staffToken, waitUntil, type TestConsortium } from './helpers/daemons.js'

let net: TestConsortium | undefined
afterEach(async () => { await net?.close(); net = undefined })

/** Sends `request` raw and collects every line the node answers until it closes. */
async function exchange (path: string, request: string): Promise<string[]> {
  const socket = connect(path)
  let text = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => { text += chunk })
  socket.write(request)
  await new Promise<void>((resolve, reject) => { socket.on('close', () => { resolve() }); socket.on('error', reject) })
  return text.split('\n').filter((line) => line !== '')
}

describe('the backup control socket under attack', () => {
  it('is owner-only (0600) even when the node runs with a permissive umask', async () => {
    const previous = process.umask(0o002)
    try {
      net = await startConsortium([['hospital-a', 'examiner']])
    } finally {
      process.umask(previous)
    }
    const path = join(net.node('hospital-a').daemon.layout.root, CONTROL_SOCKET)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
  })

  it('answers garbage with BAD_REQUEST and closes, and stays up for a real request', async () => {
    net = await startConsortium([['hospital-a', 'examiner']])
    const path = join(net.node('hospital-a').daemon.layout.root, CONTROL_SOCKET)
    for (const garbage of ['not json\n', 'null\n', '42\n', '[]\n', '{"v":1,"op":"backup","out":"relative"}\n', '{"v":2,"op":"backup","out":"/x"}\n', '{"v":1,"op":"restore","out":"/x"}\n']) {
      const lines = await exchange(path, garbage)
      expect(lines.map((l) => JSON.parse(l) as unknown), garbage).toEqual([{ error: { code: 'BAD_REQUEST', message: expect.any(String) as string } }])
    }
    const out = join(net.dir, 'after-garbage.hcbackup')
    const lines = await exchange(path, JSON.stringify({ v: 1, op: 'backup', out }) + '\n')
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ ok: { out } })
  })

  it('drops a client that connects and never finishes its request', async () => {
    net = await startConsortium([['hospital-a', 'examiner']])
    const path = join(net.node('hospital-a').daemon.layout.root, CONTROL_SOCKET)
    const socket: Socket = connect(path)
    socket.write('{"v":1,')
    const started = Date.now()
    await new Promise<void>((resolve) => { socket.on('close', () => { resolve() }); socket.on('error', () => {}) })
    expect(Date.now() - started).toBeLessThan(CONTROL_REQUEST_TIMEOUT_MS + 5000)
  }, CONTROL_REQUEST_TIMEOUT_MS + 20_000)

  it('a second backup while one runs is BACKUP_BUSY, and the first completes', async () => {
    net = await startConsortium([['hospital-a', 'examiner']])
    const root = net.node('hospital-a').daemon.layout.root
    const results = await Promise.allSettled([requestBackup(root, join(net.dir, 'one.hcbackup')), requestBackup(root, join(net.dir, 'two.hcbackup'))])
    const refused = results.flatMap((r) => r.status === 'rejected' ? [r.reason as NodeError] : [])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    expect(refused.map((e) => e.code)).toEqual(['BACKUP_BUSY'])
  })

  it('refuses a backup file inside the data directory (the next backup would hold the last, keys and all)', async () => {
    net = await startConsortium([['hospital-a', 'examiner']])
    const root = net.node('hospital-a').daemon.layout.root
    for (const out of [join(root, 'store', 'inside.hcbackup'), join(root, 'inside.hcbackup'), join(root, 'keys', '..', 'store', 'x.hcbackup')]) {
      const err = await requestBackup(root, out).then(() => undefined, (e: unknown) => e)
      expect(err, out).toBeInstanceOf(NodeError)
      expect((err as NodeError).code, out).toBe('DATA_FILE')
    }
    expect((await readdir(join(root, 'store'))).filter((name) => name.includes('hcbackup'))).toEqual([])
  })

  it('a FIFO and symbolic links planted in keys/ and store/ are not followed: the backup ends and holds none of them', async () => {
    net = await startConsortium([['hospital-a', 'examiner']])
    const root = net.node('hospital-a').daemon.layout.root
    const secret = join(net.dir, 'outside-secret.txt')
    await writeFile(secret, 'not the node\'s')
    execFileSync('mkfifo', [join(root, 'keys', 'planted.fifo')])
    await symlink(secret, join(root, 'keys', 'planted-link'))
    await symlink(net.dir, join(root, 'store', 'planted-dir'))
    const out = join(net.dir, 'planted.hcbackup')
    await requestBackup(root, out)
    const manifest = await readArchive(out)
    expect(manifest.parts.filter((p) => p.path.includes('planted'))).toEqual([])
  })

  it('a client that asks for a backup and never reads does not hold the store: the backup ends and writes go on', async () => {
    net = await startConsortium([['hospital-a', 'examiner']])
    const a = net.node('hospital-a')
    const { user } = await enrolOverHttp(a, await staffToken(a))
    const out = join(net.dir, 'unread.hcbackup')
    const socket = connect(join(a.daemon.layout.root, CONTROL_SOCKET))
    socket.on('error', () => {})
    socket.pause()
    socket.write(JSON.stringify({ v: 1, op: 'backup', out }) + '\n')
    await waitUntil(async () => await stat(out).then(() => true, () => false), 'the backup file to be written')
    const receipt = await a.daemon.writeExam(user.userId, { plain: { title: 'Pulse', observations: [{ code: '8867-4', value: 61, unit: '/min' }] } })
    expect(receipt.seq).toBeGreaterThan(0)
    socket.destroy()
  })
})
