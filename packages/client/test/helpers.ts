/**
 * Phones against real nodes: each test gets a TestNet (real libp2p over TCP
 * on 127.0.0.1, Corestores in temporary directories) and phones with their
 * own device directories; everything is closed and removed after the test.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildExam, newRecoveryPhrase, signEntry, type UserId } from '@healthchain/core'
import type { NetworkNode } from '@healthchain/net'
import { PhoneClient, type PhoneClientInit } from '../src/index.js'
import { crypto, type Cleanup, type Party, type TestNet } from '@healthchain/net/testing'

export { crypto }

export async function tempDir (cleanup: Cleanup, prefix = 'healthchain-phone-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  cleanup.push(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

/** Opens a phone on `dir`; closed by the cleanup list (a second close does nothing). */
export async function openPhone (net: TestNet, cleanup: Cleanup, init: Partial<PhoneClientInit> & { dir: string, phrase: string }): Promise<PhoneClient> {
  const phone = await PhoneClient.open({ registryKey: net.registryKey, bootstrapPeers: [net.parties[0]!.peer], crypto, ...init })
  cleanup.push(async () => { await phone.close() })
  return phone
}

/** A new user's phone, enrolled at `custodian`'s running node, connected to it and synced. */
export async function enrolledPhone (
  net: TestNet, cleanup: Cleanup, custodian: string
): Promise<{ phone: PhoneClient, phrase: string, dir: string, chainKey: Uint8Array }> {
  const node = net.node(custodian)
  const phrase = newRecoveryPhrase()
  const dir = await tempDir(cleanup)
  const phone = await openPhone(net, cleanup, { dir, phrase })
  const chainKey = await node.ledger.chainKeyFor(phone.userId)
  await node.enrol(await phone.buildEnrolment(custodian, chainKey))
  await phone.connect(tcpAddress(node))
  await phone.sync()
  return { phone, phrase, dir, chainKey }
}

export function tcpAddress (node: NetworkNode): string {
  const address = node.addresses.find((a) => !a.includes('/ws'))
  if (address === undefined) throw new Error('node has no TCP address')
  return address
}

/**
 * An exam by `author` written through its node, sealed for exactly the
 * recipients the chain's consent allows now (the user, the author, the
 * granted examiners) — as an examiner's system would.
 */
export async function writeSealedExam (node: NetworkNode, author: Party, user: UserId, notes: string): Promise<number> {
  const chain = await node.ledger.chain(user)
  const exam = buildExam({
    author: author.id,
    reg: node.ledger.registry.length,
    chainKey: chain.key,
    plain: { title: 'Check-up', observations: [{ code: '8480-6', value: 121, unit: 'mm[Hg]' }] },
    sealed: { notes, observations: [{ code: '2345-7', value: 5.1, unit: 'mmol/L' }] },
    recipients: chain.examRecipients(author.keys.box.publicKey)
  }, crypto)
  const { seq } = await node.append(user, (at) => signEntry(exam, { chainKey: chain.key, seq: at }, author.keys.sign.secretKey, crypto))
  return seq
}
