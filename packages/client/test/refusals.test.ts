/**
 * What a phone may not do is refused twice: by the SDK on the device,
 * before anything is queued or sent, and by the custodian when a crafted
 * entry is sent anyway (straight over /healthchain/append from the phone's
 * own libp2p host). Reading another user's chain is refused by the SDK and
 * never served by the node.
 */
import { stat } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import {
  USER_AUTHOR, buildExam, buildUserEntry, encodeCanonical, encodeEntry, newRecoveryPhrase, signEntry, signingMessage, domainTag, userKeysFromPhrase
} from '@healthchain/core'
import { forwardAppend } from '@healthchain/net'
import { enrol, TestNet, type Cleanup } from '@healthchain/net/testing'
import { PhoneClient, phrasePathOf } from '../src/index.js'
import { crypto, enrolledPhone, openPhone, tcpAddress, tempDir } from './helpers.js'
import { storeOf } from '@healthchain/ledger/testing'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** A block as the wire carries it, [1, body, sig], with a body no honest encoder would produce, signed by `secretKey` for its slot. */
function craftedBlock (body: Record<string, unknown>, chainKey: Uint8Array, seq: number, secretKey: Uint8Array): Uint8Array {
  const bodyBytes = encodeCanonical(body)
  const sig = crypto.sign(signingMessage(domainTag('healthchain/v1/entry'), { chainKey, seq }, bodyBytes), secretKey)
  return encodeCanonical([1, bodyBytes, sig])
}

describe('refusals', () => {
  it('exam entries and sealed segments are refused on the device before anything is queued, and by the custodian when sent anyway', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const { phone, phrase, chainKey } = await enrolledPhone(net, cleanup, 'hospital-a')
    const chain = await a.ledger.chain(phone.userId)
    const now = Date.now()

    // On the device.
    const exam = buildExam({
      author: net.party('hospital-a').id,
      reg: a.ledger.registry.length,
      chainKey,
      plain: { observations: [] },
      sealed: { notes: 'written by the phone' },
      recipients: [phone.publicKeys.box]
    }, crypto)
    await expect(phone.writeEntry(exam)).rejects.toMatchObject({ code: 'ROLE_FORBIDDEN', field: 'type' })
    const steps = buildUserEntry('exercise', { start: now - 1000, end: now, observations: [{ code: '55423-8', value: 10, unit: '{steps}' }] }, {}, crypto)
    await expect(phone.writeEntry({ ...steps, sealed: exam.sealed })).rejects.toMatchObject({ code: 'SEALED_FORBIDDEN', field: 'sealed' })
    await expect(phone.writeEntry({ ...steps, type: 'exam', author: USER_AUTHOR })).rejects.toMatchObject({ code: 'ROLE_FORBIDDEN' })
    await expect(phone.writeEntry({ ...steps, author: 'hospital-a' })).rejects.toMatchObject({ code: 'ROLE_FORBIDDEN', field: 'author' })
    await expect(phone.writeEntry({ ...steps, type: 'genesis' })).rejects.toMatchObject({ code: 'ROLE_FORBIDDEN' })
    await expect(phone.writeEntry({ ...steps, plain: { start: now, end: now - 1, observations: [] } })).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    expect(phone.pending()).toEqual([])
    expect(chain.length).toBe(1)

    // At the custodian: the same attempts, signed with the user's key and sent straight over the append protocol.
    const send = async (block: Uint8Array): Promise<unknown> => await forwardAppend(phone.peer.host, a.peerId, { v: 1, chain: chainKey, seq: 1, block })
    // The user's own key, as a hostile app on the phone would hold it.
    const userKey = userKeysFromPhrase(phrase, crypto).sign.secretKey
    // A well-formed exam claiming hospital-a as author, signed by the user: not hospital-a's signature.
    expect(await send(encodeEntry(signEntry(exam, { chainKey, seq: 1 }, userKey, crypto)))).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' })
    // An exam authored by the user, with a sealed segment.
    const { v: _v1, reg: _reg, ...examBody } = exam
    expect(await send(craftedBlock({ ...examBody, author: USER_AUTHOR }, chainKey, 1, userKey)))
      .toMatchObject({ ok: false, code: 'INVALID_FIELD' })
    // The user's own exercise entry, carrying a sealed segment.
    const { v: _v2, ...stepsBody } = steps
    expect(await send(craftedBlock({ ...stepsBody, sealed: exam.sealed }, chainKey, 1, userKey))).toMatchObject({ ok: false, code: 'INVALID_FIELD' })
    expect(chain.length).toBe(1)

    // The honest write still goes through.
    expect((await phone.writeExercise({ start: now - 1000, end: now, steps: 10 })).entries[0]).toMatchObject({ state: 'sent', seq: 1 })
  })

  it('another user\'s chain is refused on the device, and never served to it', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const { phone, phrase } = await enrolledPhone(net, cleanup, 'hospital-a')
    const bob = await enrol(net, 'hospital-a')

    // A device that knows its chain refuses another at once, asking nothing of a node.
    await expect(phone.sync({ chainKey: bob.chainKey })).rejects.toMatchObject({ code: 'NOT_OWN_CHAIN' })
    await expect(phone.useChainKey(bob.chainKey)).rejects.toMatchObject({ code: 'NOT_OWN_CHAIN' })

    // A fresh device told Bob's key: the node never pairs it with Bob's chain, and the device records nothing.
    const fresh = await openPhone(net, cleanup, { dir: await tempDir(cleanup), phrase, chainKey: bob.chainKey })
    await fresh.connect(tcpAddress(a))
    await expect(fresh.sync({ timeoutMs: 1_500 })).rejects.toMatchObject({ code: 'CHAIN_NOT_SERVED' })
    expect(fresh.peer.ledger.users()).toEqual([])
    const copy = storeOf(fresh.peer.ledger).get({ key: bob.chainKey, active: false })
    await copy.ready()
    expect(copy.length).toBe(0)
    await copy.close()

    // Writing to Bob's chain from Alice's phone: refused by the custodian before its ledger sees it.
    const steps = buildUserEntry('exercise', { start: Date.now() - 1000, end: Date.now(), observations: [{ code: '55423-8', value: 1, unit: '{steps}' }] }, {}, crypto)
    const block = encodeEntry(signEntry(steps, { chainKey: bob.chainKey, seq: 1 }, userKeysFromPhrase(phrase, crypto).sign.secretKey, crypto))
    expect(await forwardAppend(phone.peer.host, a.peerId, { v: 1, chain: bob.chainKey, seq: 1, block })).toMatchObject({ ok: false, code: 'NOT_ADMITTED' })
    expect((await a.ledger.chain(bob.user.userId)).length).toBe(1)
  })

  it('a device directory is one user\'s, one process\'s; a bad phrase or address is refused; the saved phrase is owner-only', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner']], cleanup)
    await net.start('hospital-a')
    const dir = await tempDir(cleanup)
    const phrase = newRecoveryPhrase()
    const phone = await openPhone(net, cleanup, { dir, phrase, savePhrase: true })

    await expect(openPhone(net, cleanup, { dir, phrase })).rejects.toMatchObject({ code: 'DEVICE_LOCKED' })
    await expect(openPhone(net, cleanup, { dir: await tempDir(cleanup), phrase: 'not a phrase' })).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'phrase' })
    await expect(phone.connect('127.0.0.1:4001')).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'address' })
    await expect(phone.writeExercise({ start: Date.now() - 1000, end: Date.now(), steps: 1 })).rejects.toMatchObject({ code: 'NOT_ENROLLED' })
    await phone.close()
    await expect(phone.status()).rejects.toMatchObject({ code: 'CLOSED' })

    expect((await stat(phrasePathOf(dir))).mode & 0o777).toBe(0o600)
    const saved = await PhoneClient.openSaved({ dir, registryKey: net.registryKey, bootstrapPeers: [net.parties[0]!.peer], crypto })
    cleanup.push(async () => { await saved.close() })
    expect(saved.userId).toBe(phone.userId)
    await saved.close()

    const other = newRecoveryPhrase()
    await expect(openPhone(net, cleanup, { dir, phrase: other })).rejects.toMatchObject({ code: 'DEVICE_STATE' })
  })
})
