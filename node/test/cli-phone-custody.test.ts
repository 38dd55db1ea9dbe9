/**
 * `healthchain phone transfer` and `phone status` around a suspended
 * custodian (real daemons, libp2p over TCP on 127.0.0.1): governance
 * suspends hospital-a and reassigns its chains to hospital-b; the phone's
 * status says so in words, with the date; `phone transfer --to hospital-b`
 * moves the chain at once, after which the status names hospital-b and
 * warns no more; a transfer to the suspended hospital-a is refused.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesToHex, newRecoveryPhrase, type UserId } from '@healthchain/core'
import { writeRecoveryPhrase } from '@healthchain/ledger'
import { cli, errorCode } from './helpers/cli.js'
import { p2pAddress, startConsortium, waitUntil, type TestConsortium } from './helpers/daemons.js'
import { makeTempDir, removeDir } from './helpers/fixtures.js'

let dir: string
let net: TestConsortium | undefined

beforeAll(async () => { dir = await makeTempDir('healthchain-cli-phone-custody-') })
afterAll(async () => {
  await net?.close()
  await removeDir(dir)
})

describe('healthchain phone transfer', () => {
  it('warns of a pending reassignment in words, moves the chain to hospital-b, and refuses a suspended examiner', async () => {
    // hospital-b hosts the registry: a suspended host's later registry entries would reach no one (members drop it).
    net = await startConsortium([['hospital-b', 'examiner'], ['hospital-a', 'examiner']])
    const a = net.node('hospital-a')
    const b = net.node('hospital-b')
    const phraseFile = join(dir, 'alice.phrase.json')
    await writeRecoveryPhrase(phraseFile, newRecoveryPhrase())
    const enrolled = await cli(['user', 'enrol', '--api', a.url, '--api-key', a.apiKey, '--phrase-file', phraseFile, '--json'])
    expect(enrolled.code, enrolled.stderr).toBe(0)
    const userId = enrolled.json().userId as UserId
    await waitUntil(async () => (await b.daemon.ledger.chain(userId).catch(() => undefined))?.verifiedLength === 1, 'hospital-b to replicate the chain')

    const dev = ['--device', join(dir, 'alice-phone')]
    const registryKey = bytesToHex(a.daemon.ledger.registry.key)
    const init = await cli(['phone', 'init', ...dev, '--phrase-file', phraseFile, '--registry-key', registryKey, '--node', p2pAddress(a), '--node', p2pAddress(b), '--quorum', '0'])
    expect(init.code, init.stderr).toBe(0)
    expect((await cli(['phone', 'sync', ...dev])).code).toBe(0)
    const plain = await cli(['phone', 'status', ...dev, '--json'])
    expect(plain.json().custody).toEqual({ custodian: 'hospital-a', custodianStatus: 'active', generation: 0 })

    const governance = ['--api', b.url, '--governance-key', join(net.dir, 'governance.json')]
    expect((await cli(['suspend', ...governance, '--institution', 'hospital-a'])).code).toBe(0)
    const reassigned = await cli(['reassign', ...governance, '--institution', 'hospital-a', '--to', 'hospital-b', '--json'])
    expect(reassigned.code, reassigned.stderr).toBe(0)
    const after = new Date(reassigned.json().after as number).toISOString()
    // A sync brings the registry: the suspension and the reassignment are on the phone from then on.
    await waitUntil(async () => {
      const synced = await cli(['phone', 'sync', ...dev])
      expect(synced.code, synced.stderr).toBe(0)
      return (await cli(['phone', 'status', ...dev, '--offline', '--json'])).json().custody.reassignment !== undefined
    }, 'the phone to see the reassignment')
    const warned = await cli(['phone', 'status', ...dev])
    expect(warned.stdout).toContain('custodian        hospital-a (suspended)')
    expect(warned.stderr).toContain(`hospital-a is suspended; unless you move, governance hands your chain to hospital-b after ${after}`)

    const moved = await cli(['phone', 'transfer', ...dev, '--to', 'hospital-b', '--json'])
    expect(moved.code, moved.stderr).toBe(0)
    expect(moved.json()).toMatchObject({ userId, custodian: 'hospital-b', length: 1 })
    expect(bytesToHex((await b.daemon.ledger.chain(userId)).key)).toBe(moved.json().chainKey)
    const now = await cli(['phone', 'status', ...dev, '--json'])
    expect(now.json()).toMatchObject({ chainKey: moved.json().chainKey, custody: { custodian: 'hospital-b', custodianStatus: 'active', generation: 0 } })
    expect(now.json().custody.reassignment).toBeUndefined()
    expect((await cli(['phone', 'status', ...dev])).stderr).not.toContain('governance hands')

    const refused = await cli(['phone', 'transfer', ...dev, '--to', 'hospital-a'])
    expect(errorCode(refused), refused.stderr).toBe('NOT_AN_EXAMINER')
  })
})
