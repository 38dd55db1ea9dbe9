/**
 * A patient whose chain moved and whose keys rotated, seeded over HTTP as
 * the phone does it: enrolled at hospital-a with a genesis committing to
 * the next keys, an exam there; moved to hospital-b (its offer checked and
 * the migrate signed with generation 0's key); an exam at hospital-b; the
 * keys renewed (the rekey signed by generation 1's key); then an exam sealed
 * to the new box key and an exercise the user signs with the new key.
 */
import { buildRotatableGenesis, buildRotation, checkOffer, signMigrate } from '@healthchain/client/custody-writes'
import {
  buildUserEntry, bytesToHex, encodeEntry, fromHex, newRecoveryPhrase, signEntry, userKeysFromPhrase,
  type Entry, type InstitutionId, type MigratePlain, type UnsignedEntry, type UserKeys
} from '@healthchain/core'
import type { MigratePlainView } from '@healthchain/node/api'
import { call, userToken, type TestNode } from '@healthchain/node/testing'
import { crypto } from './patient-seed.js'

export interface MovedPatient {
  readonly phrase: string
  /** Generation 0 (the genesis's) and generation 1 (in force after the rekey). */
  readonly keys: readonly [UserKeys, UserKeys]
  readonly oldKey: string
  readonly newKey: string
  /** Where the migrate stands: the old chain's length. */
  readonly moved: number
  readonly rekeySeq: number
  readonly exerciseSeq: number
}

export const EXAM = (value: number, notes: string): object => ({
  type: 'exam', plain: { title: 'Blood pressure', observations: [{ code: '8480-6', value, unit: 'mm[Hg]' }] }, sealed: { notes }
})

async function posted (node: TestNode, path: string, token: string, body: object): Promise<any> {
  const reply = await call(node.url, 'POST', path, { token, body })
  if (reply.status !== 201) throw new Error(`POST ${path} at ${node.id}: ${reply.status} ${JSON.stringify(reply.body)}`)
  return reply.body
}

/** A user entry signed by `keys` for the next position of the chain at `node`. */
export async function writeSigned (node: TestNode, token: string, keys: UserKeys, unsigned: UnsignedEntry): Promise<number> {
  const { body: summary } = await call(node.url, 'GET', `/v1/users/${keys.userId}`, { token })
  const seq = summary.length as number
  const entry = signEntry(unsigned, { chainKey: fromHex(summary.chainKey as string, 32, 'chainKey'), seq }, keys.sign.secretKey, crypto)
  return (await posted(node, `/v1/users/${keys.userId}/entries`, token, { entry: bytesToHex(encodeEntry(entry)), seq })).seq as number
}

export const EXERCISE = { start: Date.parse('2026-03-01T07:00:00Z'), end: Date.parse('2026-03-01T08:00:00Z'), observations: [{ code: '55423-8', value: 4200, unit: '{steps}' }] }

/** A patient enrolled at `a` with a genesis committing to the next keys, and one exam there. */
export async function enrolRotatable (a: TestNode, staffA: string): Promise<{ phrase: string, keys: [UserKeys, UserKeys], oldKey: string, genesis: Entry }> {
  const phrase = newRecoveryPhrase()
  const keys: [UserKeys, UserKeys] = [userKeysFromPhrase(phrase, crypto), userKeysFromPhrase(phrase, crypto, 1)]
  const { body: { chainKey: oldKey } } = await call(a.url, 'GET', `/v1/users/${keys[0].userId}/chain-key`, { token: staffA })
  const genesis = buildRotatableGenesis(phrase, a.id, fromHex(oldKey as string, 32, 'chainKey'), crypto)
  await posted(a, '/v1/users', staffA, { genesis: bytesToHex(encodeEntry(genesis)) })
  await posted(a, `/v1/users/${keys[0].userId}/entries`, staffA, EXAM(128, 'at hospital-a'))
  return { phrase, keys, oldKey: oldKey as string, genesis }
}

export async function seedMovedPatient (a: TestNode, b: TestNode, staffA: string, staffB: string): Promise<MovedPatient> {
  const { phrase, keys, oldKey, genesis } = await enrolRotatable(a, staffA)
  const userId = keys[0].userId

  // The move, as the phone makes it: hospital-b's offer, checked here, the migrate signed with the key in force (generation 0).
  const tokenB = await userToken(b, keys[0])
  const { body: offer, status } = await call(b.url, 'GET', `/v1/users/${userId}/continuation?chainKey=${oldKey}`, { token: tokenB })
  if (status !== 200) throw new Error(`no offer from ${b.id}: ${JSON.stringify(offer)}`)
  const custody = { key: fromHex(offer.key as string, 32, 'key'), length: offer.length as number, plain: plainOf(offer.plain) }
  checkOffer(custody, keys[0], b.id as InstitutionId, genesis, crypto)
  const migrate = signMigrate(custody, keys[0], crypto)
  const moved = await posted(b, `/v1/users/${userId}/continuation`, tokenB, { migrate: bytesToHex(encodeEntry(migrate)) })
  await posted(b, `/v1/users/${userId}/entries`, staffB, EXAM(131, 'at hospital-b'))

  // The keys renewed: the rekey is signed by the generation it reveals; every user write after it too.
  const { unsigned } = buildRotation(phrase, 0, crypto)
  const rekeySeq = await writeSigned(b, tokenB, keys[1], unsigned)
  await posted(b, `/v1/users/${userId}/entries`, staffB, EXAM(126, 'after the renewal'))
  const tokenB1 = await userToken(b, keys[1])
  const exerciseSeq = await writeSigned(b, tokenB1, keys[1], buildUserEntry('exercise', EXERCISE, {}, crypto))
  return { phrase, keys, oldKey, newKey: moved.chainKey as string, moved: offer.length as number, rekeySeq, exerciseSeq }
}

function plainOf (view: MigratePlainView): MigratePlain {
  return {
    ...view,
    from: fromHex(view.from, 32, 'from'),
    prologue: fromHex(view.prologue, 32, 'prologue'),
    signer: fromHex(view.signer, 32, 'signer'),
    headSig: fromHex(view.headSig, 64, 'headSig'),
    to: view.to as InstitutionId,
    lineage: view.lineage.map((l) => ({ key: fromHex(l.key, 32, 'key'), length: l.length, prologue: fromHex(l.prologue, 32, 'prologue') }))
  }
}
