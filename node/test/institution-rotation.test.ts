/**
 * An institution's key rotation on running daemons (hospital-a, custodian
 * and examiner; hospital-b, a replica): hospital-a holds a chain with a
 * sealed exam; `keys rotate` makes its next key generation while it runs,
 * and governance's `rotate` entry (sent to the running host) puts it in
 * force. Then: the old exam's sealed part is still readable at hospital-a;
 * a new exam is signed with the new key and sealed to the new box key
 * (its envelope's recipients say so); hospital-b verifies the whole chain
 * (old entries with the old key, new ones with the new); an entry signed
 * with the old key after the rotation is refused, whether appended at the
 * custodian or forwarded from hospital-b; a restart keeps all of it, and the
 * registry reply lists the key history.
 */
import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  buildExam, bytesToHex, decodeEntry, fromHex, signEntry, type InstitutionId, type PartyKeys, type UnsignedEntry, type UserKeys
} from '@healthchain/core'
import { readPartyKeys } from '@healthchain/ledger'
import { dataDirLayout, institutionKeysFile } from '../src/index.js'
import { cli, errorCode } from './helpers/cli.js'
import { call, enrolOverHttp, startConsortium, staffToken, waitUntil, type TestConsortium, type TestNode } from './helpers/daemons.js'
import { crypto } from './helpers/fixtures.js'

const EXAM = {
  type: 'exam',
  plain: { title: 'Blood pressure', observations: [{ code: '8480-6', value: 128, unit: 'mm[Hg]' }] },
  sealed: { notes: 'follow up in 6 months' }
} as const

let net: TestConsortium
let user: UserKeys
let oldKeys: PartyKeys
let newKeys: { sign: string, box: string }
let oldExamSeq: number
let rotatedAt: number

const a = (): TestNode => net.node('hospital-a')
const b = (): TestNode => net.node('hospital-b')
const keysDirA = (): string => dataDirLayout(join(net.dir, 'hospital-a')).keys

async function entries (node: TestNode): Promise<any[]> {
  const reply = await call(node.url, 'GET', `/v1/users/${user.userId}/entries?encoded=true`, { token: await staffToken(node) })
  expect(reply.status).toBe(200)
  return reply.body.entries
}

async function writeExam (notes: string): Promise<number> {
  const reply = await call(a().url, 'POST', `/v1/users/${user.userId}/entries`, { token: await staffToken(a()), body: { ...EXAM, sealed: { notes } } })
  expect(reply.status, JSON.stringify(reply.body)).toBe(201)
  return reply.body.seq
}

/** The X25519 keys the stored exam at `seq` is sealed for. */
function recipientsOf (view: any): string[] {
  const entry = decodeEntry(fromHex(view.encoded, view.encoded.length / 2, 'encoded'))
  if (entry.type !== 'exam' || entry.sealed === undefined) throw new Error(`entry ${String(view.seq)} is not a sealed exam`)
  return entry.sealed.to.map((r) => bytesToHex(r.key))
}

async function verifiedAtB (): Promise<any> {
  const length = (await a().daemon.ledger.chain(user.userId)).length
  const held = async (): Promise<boolean> => b().daemon.ledger.hasChain(user.userId) && (await b().daemon.ledger.chain(user.userId)).verifiedLength >= length
  await waitUntil(held, 'hospital-b to replicate the chain')
  const reply = await call(b().url, 'GET', `/v1/users/${user.userId}/verify`, { token: await staffToken(b()) })
  expect(reply.status).toBe(200)
  return reply.body
}

/** An unsigned exam by hospital-a sealed for `keys`' box key, naming registry length `reg`. */
async function forgedExam (keys: PartyKeys, reg: number): Promise<{ unsigned: UnsignedEntry, chainKey: Uint8Array }> {
  const chain = await a().daemon.ledger.chain(user.userId)
  const unsigned = buildExam({
    author: 'hospital-a' as InstitutionId,
    reg,
    chainKey: chain.key,
    plain: { title: 'Forged', observations: [{ code: '8480-6', value: 90, unit: 'mm[Hg]' }] },
    sealed: { notes: 'forged' },
    recipients: [user.box.publicKey, keys.box.publicKey]
  }, crypto)
  return { unsigned, chainKey: chain.key }
}

beforeAll(async () => {
  net = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner']])
  const staff = await staffToken(a())
  user = (await enrolOverHttp(a(), staff)).user
  oldExamSeq = await writeExam('before the rotation')
  oldKeys = await readPartyKeys(institutionKeysFile(keysDirA()))
})
afterAll(async () => { await net?.close() })

describe('an institution\'s key rotation on running nodes', () => {
  it('`keys rotate` makes a new generation beside the old one; the node keeps the old key until the registry names the new', async () => {
    const run = await cli(['keys', 'rotate', '--dir', join(net.dir, 'hospital-a'), '--json'])
    expect(run.code, run.stderr).toBe(0)
    newKeys = run.json()
    expect(run.json()).toMatchObject({ kind: 'healthchain-node-public-keys', generation: 2, peerId: a().daemon.network.peerId })
    expect(newKeys.sign).not.toBe(bytesToHex(oldKeys.sign.publicKey))
    expect((await stat(institutionKeysFile(keysDirA(), 2))).mode & 0o777).toBe(0o600)
    expect(await readPartyKeys(institutionKeysFile(keysDirA()))).toEqual(oldKeys)
    await writeFile(join(net.dir, 'rotated.json'), run.stdout)

    // Not in force yet: the next exam is still sealed to the old box key.
    const seq = await writeExam('after keys rotate, before the registry entry')
    const view = (await entries(a())).find((e) => e.seq === seq)
    expect(recipientsOf(view)).toContain(bytesToHex(oldKeys.box.publicKey))
    expect(recipientsOf(view)).not.toContain(newKeys.box)
  })

  it('`rotate` sent to the running host puts the new key in force on every node', async () => {
    const governance = join(net.dir, 'governance.json')
    const target = ['--api', a().url, '--governance-key', governance, '--institution', 'hospital-a']
    const refused = await cli(['rotate', ...target])
    expect(errorCode(refused)).toBe('USAGE')
    const run = await cli(['rotate', ...target, '--public-keys', join(net.dir, 'rotated.json'), '--json'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json()).toMatchObject({ type: 'rotate', institution: 'hospital-a', sign: newKeys.sign, box: newKeys.box })
    rotatedAt = run.json().seq
    for (const node of [a(), b()]) await waitUntil(() => node.daemon.ledger.registry.length > rotatedAt, `${node.id} to have the rotation`)
    // The same keys twice: the registry refuses a key already registered.
    const again = await cli(['rotate', ...target, '--public-keys', join(net.dir, 'rotated.json')])
    expect(errorCode(again)).toBe('REGISTRY_CONFLICT')

    const registry = await call(b().url, 'GET', '/v1/registry')
    const listed = registry.body.institutions.find((i: any) => i.id === 'hospital-a')
    expect(listed).toMatchObject({ sign: newKeys.sign, box: newKeys.box })
    expect(listed.keys).toEqual([
      { sign: bytesToHex(oldKeys.sign.publicKey), box: bytesToHex(oldKeys.box.publicKey), since: expect.any(Number) },
      { sign: newKeys.sign, box: newKeys.box, since: rotatedAt }
    ])
  })

  it('reads the old sealed exam, seals a new one to the new key, and hospital-b verifies the whole chain', async () => {
    const seq = await writeExam('after the rotation')
    const views = await entries(a())
    expect(views.find((e) => e.seq === oldExamSeq).sealed).toEqual({ readable: true, data: { notes: 'before the rotation' } })
    const fresh = views.find((e) => e.seq === seq)
    expect(fresh.sealed).toEqual({ readable: true, data: { notes: 'after the rotation' } })
    expect(fresh.reg).toBeGreaterThan(rotatedAt)
    expect(recipientsOf(fresh)).toEqual([bytesToHex(user.box.publicKey), newKeys.box])

    const report = await verifiedAtB()
    expect(report.problems).toEqual([])
    expect(report).toMatchObject({ valid: true, length: seq + 1 })
  })

  it('refuses an entry signed with the old key after the rotation, at the custodian and forwarded from hospital-b', async () => {
    const chain = await a().daemon.ledger.chain(user.userId)
    const length = chain.length
    for (const reg of [a().daemon.ledger.registry.length, rotatedAt]) {
      const { unsigned, chainKey } = await forgedExam(oldKeys, reg)
      const entry = signEntry(unsigned, { chainKey, seq: length }, oldKeys.sign.secretKey, crypto)
      await expect(chain.append(entry, length)).rejects.toMatchObject({ code: 'BAD_SIGNATURE' })
      await expect(b().daemon.network.append(user.userId, (seq) => signEntry(unsigned, { chainKey, seq }, oldKeys.sign.secretKey, crypto)))
        .rejects.toMatchObject({ code: 'REFUSED', remoteCode: 'BAD_SIGNATURE' })
    }
    expect(chain.length).toBe(length)
  })

  it('keeps all of it across a restart', async () => {
    await net.stop('hospital-a')
    const restarted = await net.restart('hospital-a')
    // It listens on a new port: introduced to hospital-b again, as startConsortium does.
    await restarted.daemon.network.dial(b().daemon.network.addresses[0]!)
    const seq = await writeExam('after the restart')
    const views = await entries(a())
    expect(views.find((e) => e.seq === oldExamSeq).sealed).toEqual({ readable: true, data: { notes: 'before the rotation' } })
    expect(views.find((e) => e.seq === seq).sealed).toEqual({ readable: true, data: { notes: 'after the restart' } })
    expect(recipientsOf(views.find((e) => e.seq === seq))).toEqual([bytesToHex(user.box.publicKey), newKeys.box])
    const report = await verifiedAtB()
    expect(report.problems).toEqual([])
    expect(report).toMatchObject({ valid: true, length: seq + 1 })
  })
})
