/**
 * A phone trusts only witnessed heads: real nodes on 127.0.0.1 (a custodian
 * and a regulator, the witness), phones with device directories on disk.
 * With a quorum of 1 the phone syncs the head the regulator cosigned; with
 * the regulator stopped the sync is refused with NO_QUORUM and the phone
 * shows what it showed before; a block the custodian appended behind the
 * witness's back is not shown; the default demands
 * the regulator too (never a silent 0); an explicit quorum of 0 syncs as
 * before the witnesses existed, and `setQuorum('majority')` goes back to
 * the default.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { newRecoveryPhrase, type UserId } from '@healthchain/core'
import { TestNet, waitFor, type Cleanup } from '@healthchain/net/testing'
import { ClientError, PhoneClient, type PhoneClientInit } from '../src/index.js'
import { openPhone, tcpAddress, tempDir, writeSealedExam } from './helpers.js'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const SPECS = [['hospital-a', 'examiner'], ['regulator', 'regulator']] as const

/** A network with the custodian and the regulator running and connected. */
async function network (): Promise<TestNet> {
  const net = await TestNet.create(SPECS, cleanup)
  await net.start('hospital-a')
  await net.start('regulator')
  await net.meshed()
  return net
}

/** A phone enrolled at hospital-a, with one exam written and verified by the regulator; not synced yet. */
async function enrolledWithExam (net: TestNet, init: Partial<PhoneClientInit> = {}): Promise<{ phone: PhoneClient, dir: string, phrase: string }> {
  const a = net.node('hospital-a')
  const phrase = newRecoveryPhrase()
  const dir = await tempDir(cleanup)
  const phone = await openPhone(net, cleanup, { dir, phrase, ...init })
  await a.enrol(await phone.buildEnrolment('hospital-a', await a.ledger.chainKeyFor(phone.userId)))
  await writeSealedExam(a, net.party('hospital-a'), phone.userId, 'first visit')
  await regulatorVerified(net, phone.userId, 2)
  // The test registry lists no addresses (ports are picked at start): the phone knows the witness's as an app would be configured.
  await phone.rememberNodes([tcpAddress(net.node('regulator'))])
  await phone.connect(tcpAddress(a))
  return { phone, dir, phrase }
}

async function regulatorVerified (net: TestNet, user: UserId, length: number): Promise<void> {
  const regulator = net.node('regulator')
  await waitFor(async () => (await regulator.ledger.chain(user).catch(() => undefined))?.verifiedLength === length, `the regulator to verify ${length} blocks`)
}

/** What the phone shows and keeps: status lengths and the timeline's positions. */
async function shown (phone: PhoneClient): Promise<{ trusted: number, verified: number, witnessed: number | undefined, seqs: number[] }> {
  const status = await phone.status()
  return { trusted: status.trustedLength, verified: status.verifiedLength, witnessed: status.witnessedLength, seqs: (await phone.timeline()).map((t) => t.seq) }
}

describe('a phone trusts only witnessed heads', () => {
  it('syncs the head the regulator cosigned; with the regulator stopped the sync is NO_QUORUM and the phone keeps what it had', async () => {
    const net = await network()
    const { phone } = await enrolledWithExam(net, { quorum: 1 })

    const report = await phone.sync()
    expect(report).toMatchObject({ length: 2, verifiedLength: 2, trustedLength: 2, quorum: 1, witnessed: { length: 2, witnesses: ['regulator'] } })
    expect(await shown(phone)).toEqual({ trusted: 2, verified: 2, witnessed: 2, seqs: [1] })
    expect((await phone.status()).quorum).toBe(1)

    // The witness gone, a new exam at the custodian: no head has a cosignature now, so nothing moves.
    await net.stop('regulator')
    await writeSealedExam(net.node('hospital-a'), net.party('hospital-a'), phone.userId, 'second visit')
    const refused = await phone.sync().catch((err: unknown) => err)
    expect(refused).toBeInstanceOf(ClientError)
    expect(refused).toMatchObject({ code: 'NO_QUORUM', cause: { code: 'NO_QUORUM' } })
    expect(await shown(phone)).toEqual({ trusted: 2, verified: 2, witnessed: 2, seqs: [1] })

    // The regulator back: it fetches the exam, cosigns the new head, and the phone moves to it.
    await net.start('regulator')
    await net.meshed()
    await regulatorVerified(net, phone.userId, 3)
    await phone.rememberNodes([tcpAddress(net.node('regulator'))])
    await waitFor(async () => (await phone.sync().catch(() => undefined))?.trustedLength === 3, 'the phone to trust the newly witnessed head')
    expect(await shown(phone)).toEqual({ trusted: 3, verified: 3, witnessed: 3, seqs: [1, 2] })
  }, 60_000)

  it('does not move to a block the custodian appended behind the witness\'s back', async () => {
    const net = await network()
    const { phone } = await enrolledWithExam(net, { quorum: 1 })
    expect((await phone.sync()).witnessed?.length).toBe(2)

    // The regulator still answers witness requests but fetches nothing more: its replica, and so what it cosigns, stays at 2.
    await net.node('regulator').replication.stop()
    await writeSealedExam(net.node('hospital-a'), net.party('hospital-a'), phone.userId, 'unwitnessed')
    expect((await net.node('hospital-a').ledger.chain(phone.userId)).length).toBe(3)
    const report = await phone.sync()
    expect(report).toMatchObject({ trustedLength: 2, quorum: 1, witnessed: { length: 2, witnesses: ['regulator'] } })
    expect(await shown(phone)).toMatchObject({ trusted: 2, witnessed: 2, seqs: [1] })
    expect((await phone.timeline()).map((t) => t.sealed?.notes)).toEqual(['first visit'])
  }, 60_000)

  it('by default demands a majority of the registry\'s regulators (never a silent 0); an explicit quorum 0 syncs without witnesses', async () => {
    const net = await network()
    // Default: the registry lists one active regulator, so the quorum is 1.
    const { phone, dir, phrase } = await enrolledWithExam(net)
    expect((await phone.sync()).quorum).toBe(1)
    await net.stop('regulator')
    await writeSealedExam(net.node('hospital-a'), net.party('hospital-a'), phone.userId, 'second visit')
    await expect(phone.sync()).rejects.toMatchObject({ code: 'NO_QUORUM' })
    expect((await shown(phone)).seqs).toEqual([1])
    await phone.close()

    // The same device reopened with an explicit 0: kept in device.json, so a later open without it keeps it.
    const optedOut = await openPhone(net, cleanup, { dir, phrase, quorum: 0 })
    await optedOut.connect(tcpAddress(net.node('hospital-a')))
    const report = await optedOut.sync()
    expect(report).toMatchObject({ verifiedLength: 3, trustedLength: 3, quorum: 0, witnessed: undefined })
    expect((await shown(optedOut)).seqs).toEqual([1, 2])
    await optedOut.close()
    const reopened = await openPhone(net, cleanup, { dir, phrase })
    expect((await reopened.status()).quorum).toBe(0)

    // Back to the default on the same device: the majority again (the regulator is still stopped), kept across a reopen.
    await reopened.setQuorum('majority')
    expect((await reopened.status()).quorum).toBe(1)
    await reopened.connect(tcpAddress(net.node('hospital-a')))
    await expect(reopened.sync()).rejects.toMatchObject({ code: 'NO_QUORUM' })
    for (const quorum of [-1, 1.5, Number.NaN]) {
      await expect(reopened.setQuorum(quorum)).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'quorum' })
    }
    await reopened.close()
    const again = await openPhone(net, cleanup, { dir, phrase })
    expect((await again.status()).quorum).toBe(1)
  }, 60_000)

  it('refuses a quorum that is not a whole number, 0 or more', async () => {
    const net = await TestNet.create(SPECS, cleanup)
    for (const quorum of [-1, 1.5, Number.NaN]) {
      await expect(PhoneClient.open({ dir: await tempDir(cleanup), phrase: newRecoveryPhrase(), registryKey: net.registryKey, bootstrapPeers: [], quorum }))
        .rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'quorum' })
    }
  })
})
