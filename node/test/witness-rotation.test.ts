/**
 * A witness whose keys rotate (regulator, beside hospital-a, the custodian):
 * once the registry's `rotate` entry reaches it, the regulator cosigns new
 * heads with its new key (the node reads its signer through the keyring on
 * each use), and the cosignatures hospital-a serves verify against the key
 * the registry now lists.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesToHex, fromHex, type InstitutionId } from '@healthchain/core'
import { verifyCosignature } from '@healthchain/net'
import { readPartyKeys } from '@healthchain/ledger'
import { dataDirLayout, institutionKeysFile, rotateInstitutionKeys } from '../src/index.js'
import { call, enrolOverHttp, staffToken, startConsortium, waitUntil, type TestConsortium } from './helpers/daemons.js'
import { crypto } from './helpers/fixtures.js'

const EXAM = { type: 'exam', plain: { title: 'Pulse', observations: [{ code: '8867-4', value: 61, unit: '/min' }] } }

let net: TestConsortium
beforeAll(async () => { net = await startConsortium([['hospital-a', 'examiner'], ['regulator', 'regulator']]) }, 60_000)
afterAll(async () => { await net?.close() })

describe('a witness after its key rotation', () => {
  it('cosigns new heads with the new key', async () => {
    const a = net.node('hospital-a')
    const regulator = net.node('regulator')
    const staff = await staffToken(a)
    const { user } = await enrolOverHttp(a, staff)
    const cosignedAt = async (length: number): Promise<any[]> => {
      const reply = await call(a.url, 'GET', `/v1/users/${user.userId}/head`, { token: staff })
      return (reply.body.cosignatures as any[]).filter((c) => c.head.length === length)
    }
    expect((await call(a.url, 'POST', `/v1/users/${user.userId}/entries`, { token: staff, body: EXAM })).status).toBe(201)
    await waitUntil(async () => (await cosignedAt(2)).length > 0, 'the regulator to cosign length 2')

    const old = await readPartyKeys(institutionKeysFile(dataDirLayout(join(net.dir, 'regulator')).keys))
    const { keys } = await rotateInstitutionKeys(dataDirLayout(join(net.dir, 'regulator')).keys, crypto)
    const governance = await readPartyKeys(join(net.dir, 'governance.json'))
    await a.daemon.ledger.registry.append('rotate', { institution: regulator.id, sign: keys.sign.publicKey, box: keys.box.publicKey }, governance.sign)
    const rotatedHere = (): boolean => bytesToHex(regulator.daemon.keys.sign.publicKey) === bytesToHex(keys.sign.publicKey)
    await waitUntil(rotatedHere, 'the regulator to have the rotation and its new key file read')

    expect((await call(a.url, 'POST', `/v1/users/${user.userId}/entries`, { token: staff, body: EXAM })).status).toBe(201)
    await waitUntil(async () => (await cosignedAt(3)).length > 0, 'the regulator to cosign length 3 after its rotation')
    const [c] = await cosignedAt(3)
    const head = {
      v: 1 as const, ...c.head, key: fromHex(c.head.key, 32, 'key'), signer: fromHex(c.head.signer, 32, 'signer'), root: fromHex(c.head.root, 32, 'root'), sig: fromHex(c.head.sig, 64, 'sig')
    }
    const cosignature = { v: 1 as const, witness: c.witness as InstitutionId, head, sig: fromHex(c.sig, 64, 'sig') }
    expect(verifyCosignature(cosignature, keys.sign.publicKey, crypto)).toBe(true)
    expect(verifyCosignature(cosignature, old.sign.publicKey, crypto)).toBe(false)
  })
})
