/**
 * Seeding a patient over HTTP for the console's patient tests: a phrase
 * (kept, to sign in with in the browser), enrolment at a custodian, exams,
 * and the patient's own writes signed as the phone signs them.
 */
import { buildEnrolmentGenesis, signUserEntry } from '@healthchain/client/user-side'
import {
  bytesToHex, encodeEntry, fromHex, newRecoveryPhrase, nobleProvider, userKeysFromPhrase, type InstitutionId, type UnsignedEntry, type UserKeys
} from '@healthchain/core'
import { call, userToken, waitUntil, type TestNode } from '@healthchain/node/testing'

export const crypto = nobleProvider

export interface SeededPatient {
  readonly phrase: string
  readonly user: UserKeys
  readonly chainKey: string
}

export async function enrolPatient (node: TestNode, staff: string): Promise<SeededPatient> {
  const phrase = newRecoveryPhrase()
  const user = userKeysFromPhrase(phrase, crypto)
  const { body: { chainKey } } = await call(node.url, 'GET', `/v1/users/${user.userId}/chain-key`, { token: staff })
  const genesis = buildEnrolmentGenesis(user, node.id as InstitutionId, fromHex(chainKey as string, 32, 'chainKey'), crypto)
  const reply = await call(node.url, 'POST', '/v1/users', { token: staff, body: { genesis: bytesToHex(encodeEntry(genesis)) } })
  if (reply.status !== 201) throw new Error(`enrolment failed: ${JSON.stringify(reply.body)}`)
  return { phrase, user, chainKey }
}

export async function writeExam (node: TestNode, staff: string, patient: SeededPatient, body: object): Promise<number> {
  const reply = await call(node.url, 'POST', `/v1/users/${patient.user.userId}/entries`, { token: staff, body: { type: 'exam', ...body } })
  if (reply.status !== 201) throw new Error(`exam at ${node.id} refused: ${JSON.stringify(reply.body)}`)
  return reply.body.seq as number
}

/** A user write signed for the chain's length at `node` (the custodian). */
export async function writeAsUser (node: TestNode, patient: SeededPatient, unsigned: UnsignedEntry): Promise<number> {
  const token = await userToken(node, patient.user)
  const { body: summary } = await call(node.url, 'GET', `/v1/users/${patient.user.userId}`, { token })
  const seq = summary.length as number
  const entry = signUserEntry(unsigned, patient.user, { chainKey: fromHex(patient.chainKey, 32, 'chainKey'), seq }, crypto)
  const reply = await call(node.url, 'POST', `/v1/users/${patient.user.userId}/entries`, { token, body: { entry: bytesToHex(encodeEntry(entry)), seq } })
  if (reply.status !== 201) throw new Error(`user write refused: ${JSON.stringify(reply.body)}`)
  return reply.body.seq as number
}

export interface EntryView { seq: number, id: string, type: string, author: string, plain: any, sealed?: { readable: boolean, data?: any } }

/** The chain's entries as `token` reads them at `node`. */
export async function entriesAt (node: TestNode, token: string, userId: string, query = ''): Promise<EntryView[]> {
  const reply = await call(node.url, 'GET', `/v1/users/${userId}/entries?start=0${query}`, { token })
  if (reply.status !== 200) throw new Error(`read at ${node.id} refused: ${JSON.stringify(reply.body)}`)
  return reply.body.entries as EntryView[]
}

/** Waits until `node` serves the chain at `length` or more. */
export async function holds (node: TestNode, token: string, userId: string, length: number): Promise<void> {
  await waitUntil(async () => {
    const reply = await call(node.url, 'GET', `/v1/users/${userId}`, { token })
    return reply.status === 200 && (reply.body.verifiedLength as number) >= length
  }, `${node.id} to hold ${userId} at ${length}`, 20_000)
}

export const GPX = `<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <trk><name>Morning walk</name><trkseg>
    <trkpt lat="52.5200" lon="13.4050"><time>2026-05-04T07:00:00Z</time></trkpt>
    <trkpt lat="52.5210" lon="13.4065"><time>2026-05-04T07:05:00Z</time></trkpt>
    <trkpt lat="52.5222" lon="13.4081"><time>2026-05-04T07:10:00Z</time></trkpt>
  </trkseg></trk>
</gpx>
`
