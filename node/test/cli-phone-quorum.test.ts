/**
 * `healthchain phone` in a consortium with a regulator (real daemons,
 * libp2p over TCP on 127.0.0.1): by default the phone trusts only a head the
 * regulator cosigned (a majority of one); with the regulator stopped `phone
 * sync` fails with NO_QUORUM, saying in words how many cosignatures the
 * best head had and how many are needed, and the phone shows what it showed
 * before; `phone init --quorum 0` opts the device out and it syncs again;
 * `phone quorum default` goes back to the majority (NO_QUORUM again) and
 * `phone quorum N` changes it on the existing device.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesToHex, newRecoveryPhrase, type UserId } from '@healthchain/core'
import { writeRecoveryPhrase } from '@healthchain/ledger'
import { cli, errorCode } from './helpers/cli.js'
import { call, p2pAddress, startConsortium, staffToken, waitUntil, type TestConsortium } from './helpers/daemons.js'
import { makeTempDir, removeDir } from './helpers/fixtures.js'

let dir: string
let net: TestConsortium | undefined

beforeAll(async () => { dir = await makeTempDir('healthchain-cli-phone-quorum-') })
afterAll(async () => {
  await net?.close()
  await removeDir(dir)
})

describe('healthchain phone with witnesses', () => {
  it('syncs a witnessed head, answers NO_QUORUM in words with the regulator stopped, syncs with --quorum 0, and goes back to the default', async () => {
    net = await startConsortium([['hospital-a', 'examiner'], ['regulator', 'regulator']])
    const a = net.node('hospital-a')
    const regulator = net.node('regulator')
    const registryKey = bytesToHex(a.daemon.ledger.registry.key)
    const phraseFile = join(dir, 'alice.phrase.json')
    await writeRecoveryPhrase(phraseFile, newRecoveryPhrase())
    const enrolled = await cli(['user', 'enrol', '--api', a.url, '--api-key', a.apiKey, '--phrase-file', phraseFile, '--json'])
    expect(enrolled.code, enrolled.stderr).toBe(0)
    const userId = enrolled.json().userId as string
    const token = await staffToken(a)
    const writeExam = async (): Promise<void> => {
      const exam = await call(a.url, 'POST', `/v1/users/${userId}/entries`, { token, body: { type: 'exam', plain: { title: 'Check-up', observations: [] } } })
      expect(exam.status).toBe(201)
    }
    await writeExam()
    const regulatorHolds = async (length: number): Promise<void> => {
      const verified = async (): Promise<number | undefined> => (await regulator.daemon.ledger.chain(userId as UserId).catch(() => undefined))?.verifiedLength
      await waitUntil(async () => await verified() === length, `the regulator to verify ${length} blocks`)
    }
    await regulatorHolds(2)

    const device = join(dir, 'alice-phone')
    const dev = ['--device', device]
    const nodes = ['--node', p2pAddress(a), '--node', p2pAddress(regulator)]
    const init = await cli(['phone', 'init', ...dev, '--phrase-file', phraseFile, '--registry-key', registryKey, ...nodes, '--json'])
    expect(init.code, init.stderr).toBe(0)
    expect(init.json().quorum).toBeUndefined()

    const sync = await cli(['phone', 'sync', ...dev, '--json'])
    expect(sync.code, sync.stderr).toBe(0)
    expect(sync.json()).toMatchObject({ userId, verifiedLength: 2, trustedLength: 2, quorum: 1, witnessed: { length: 2, witnesses: ['regulator'] } })
    expect((await cli(['phone', 'sync', ...dev])).stdout).toContain('witnessed        head at 2, cosigned by regulator (quorum 1)')

    // The regulator stopped, a new exam: no head has the one cosignature needed.
    await net.stop('regulator')
    await writeExam()
    const refused = await cli(['phone', 'sync', ...dev])
    expect(refused.code).toBe(1)
    expect(errorCode(refused), refused.stderr).toBe('NO_QUORUM')
    expect(refused.stderr).toContain('no head has 1 cosignatures: the best has 0')
    expect(refused.stderr).toContain('the phone keeps what it trusted before')
    const offline = await cli(['phone', 'status', ...dev, '--offline', '--json'])
    expect(offline.json()).toMatchObject({ trustedLength: 2, witnessedLength: 2, quorum: 1 })

    // The device opted out explicitly: it syncs from the custodian alone.
    const optOut = await cli(['phone', 'init', ...dev, '--phrase-file', phraseFile, '--registry-key', registryKey, '--node', p2pAddress(a), '--quorum', '0',
      '--json'])
    expect(optOut.code, optOut.stderr).toBe(0)
    expect(optOut.json().quorum).toBe(0)
    const unwitnessed = await cli(['phone', 'sync', ...dev, '--json'])
    expect(unwitnessed.code, unwitnessed.stderr).toBe(0)
    expect(unwitnessed.json()).toMatchObject({ verifiedLength: 3, trustedLength: 3, quorum: 0 })
    expect(unwitnessed.json().witnessed).toBeUndefined()

    // Back to the default on the same device, offline: a majority of the one regulator again, which is still stopped.
    const back = await cli(['phone', 'quorum', 'default', ...dev, '--json'])
    expect(back.code, back.stderr).toBe(0)
    expect(back.json()).toMatchObject({ device, demanded: 1 })
    expect(back.json().quorum).toBeUndefined()
    expect((await readFile(join(device, 'device.json'), 'utf8'))).not.toContain('quorum')
    expect(errorCode(await cli(['phone', 'sync', ...dev]))).toBe('NO_QUORUM')
    expect((await cli(['phone', 'status', ...dev, '--offline', '--json'])).json()).toMatchObject({ quorum: 1 })
    // A number changes it without setting the device up again; anything else is a usage error and changes nothing.
    const fixed = await cli(['phone', 'quorum', '0', ...dev])
    expect(fixed.code, fixed.stderr).toBe(0)
    expect(fixed.stdout).toContain('0: no witness asked (opted out)')
    expect((await cli(['phone', 'status', ...dev, '--offline', '--json'])).json()).toMatchObject({ quorum: 0 })
    for (const bad of ['majority', '-1', '1.5']) {
      const refused = await cli(['phone', 'quorum', bad, ...dev])
      expect(refused.code, bad).toBe(2)
    }
    expect((await cli(['phone', 'status', ...dev, '--offline', '--json'])).json()).toMatchObject({ quorum: 0 })
    expect((await cli(['phone', 'quorum', '--help'])).stdout).toContain('healthchain phone quorum default --device ./alice-phone')
  }, 120_000)
})
