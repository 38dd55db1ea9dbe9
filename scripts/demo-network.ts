/**
 * `npm run demo`: the patent's method, narrated step by step, against the
 * dev network `npm start` runs (in another terminal) — all of it over real
 * HTTP, as each party's systems would do it:
 *
 *   login audit for every party (one refused), a hospital enrols a user and
 *   writes an exam (plain and sealed parts), the user's phone writes
 *   exercise and GPS data it signed itself, each party queries and sees
 *   exactly what its role allows, the user grants a second hospital the
 *   history, a tampered block is refused, the regulator verifies the chain,
 *   and the custodian's audit log shows all of it.
 *
 * Each run enrols a new user; the network's data stays (and the user's
 * phrase file is kept in <dir>/users/ to try the CLI with).
 *
 *   npm run demo -- [--dir <dev network dir>]
 */
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import {
  buildUserEntry, bytesToHex, fromHex, newRecoveryPhrase, signEntry, userKeysFromPhrase,
  type InstitutionId, type UserKeys
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { writeRecoveryPhrase } from '@healthchain/ledger'
import { signLogin } from '@healthchain/node'
import { sessionSchema, writeReplySchema, type EntryViewReply } from '@healthchain/node/api'
import {
  ApiClient, ApiError, CliError, DEFAULT_DEV_DIR, devPaths, enrolUser, examinerBoxOf, grantExaminer, loginAsUser, loginWithApiKey, openEnvelope,
  postUserEntry, readDevManifest, renderAudit, writeAsUser, type DevManifest
} from '@healthchain/node/cli'
import { demoArgs } from './demo-args.js'
import { z } from 'zod'

const args = demoArgs(() => parseArgs({
  options: {
    dir: { type: 'string', default: DEFAULT_DEV_DIR },
    help: { type: 'boolean', short: 'h', default: false }
  }
}), `Usage: npm run demo -- [--dir <path>]

Runs the narrated healthchain demo against the dev network that \`npm start\`
runs (start it first, in another terminal).
  --dir <path>  the dev network's directory (default ${DEFAULT_DEV_DIR})`)

const dir = resolve(args.dir)
/** How long to wait for replication to bring an entry to another node. */
const REPLICATION_TIMEOUT_MS = 30_000

let step = 0
function say (text: string): void { console.log(`\n${++step}. ${text}`) }
function detail (text: string): void { console.log(`   ${text}`) }

class NotRunning extends Error {}

interface Party {
  readonly name: InstitutionId
  readonly role: string
  readonly api: ApiClient
  readonly node: DevManifest['nodes'][number]
}

async function connect (): Promise<Party[]> {
  const manifest = await readDevManifest(dir)
  if (manifest === undefined) throw new NotRunning(`no dev network is running in ${dir} (there is no dev.json)`)
  const parties: Party[] = []
  for (const node of manifest.nodes) {
    const api = new ApiClient(node.api, { timeoutMs: 5_000 })
    try {
      const status = await api.status()
      if (status.peerId !== node.peerId) throw new NotRunning(`${node.name} at ${node.api} is not the node dev.json names (stale dev.json?)`)
    } catch (err) {
      if (err instanceof CliError && err.code === 'UNREACHABLE') throw new NotRunning(`${node.name} does not answer at ${node.api}`)
      throw err
    }
    parties.push({ name: node.name as InstitutionId, role: node.role, api, node })
  }
  return parties
}

/** Runs `attempt`, which must be refused with `code`; prints the refusal. */
async function expectRefusal (what: string, code: string, attempt: () => Promise<unknown>): Promise<void> {
  try {
    await attempt()
  } catch (err) {
    if (err instanceof ApiError && err.code === code) {
      detail(`${what}: refused: ${err.status} ${err.code}`)
      return
    }
    throw err
  }
  throw new Error(`demo: ${what} was accepted, which must never happen`)
}

async function waitFor (what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + REPLICATION_TIMEOUT_MS
  for (;;) {
    if (await condition()) return
    if (Date.now() > deadline) throw new Error(`demo: timed out after ${REPLICATION_TIMEOUT_MS / 1000} s waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Until `client`'s node holds the user's chain with at least `length` entries (replication). */
async function replicated (client: ApiClient, name: string, user: UserKeys, length: number): Promise<void> {
  await waitFor(`${name} to replicate ${length} entries`, async () => {
    try {
      return (await client.chain(user.userId)).verifiedLength >= length
    } catch (err) {
      if (err instanceof ApiError && err.code === 'UNKNOWN_CHAIN') return false
      throw err
    }
  })
}

function describeSealed (view: EntryViewReply | undefined): string {
  if (view === undefined) return '(no exam)'
  if (view.sealed === undefined) return 'sealed: absent (this role never receives sealed data, not even ciphertext)'
  if (!view.sealed.readable) return 'sealed: not readable (not a recipient, no grant)'
  return `sealed: readable ${JSON.stringify(view.sealed.data)}`
}

async function main (): Promise<void> {
  const parties = await connect()
  const party = (name: string): Party => parties.find((p) => p.name === name)!
  const [a, b, agency, regulator] = [party('hospital-a'), party('hospital-b'), party('agency'), party('regulator')]
  console.log(`healthchain demo against the dev network in ${dir}`)

  say('The network: four institutions, one registry, every node connected to the others')
  for (const p of parties) {
    const s = await p.api.status()
    detail(`${p.name.padEnd(10)} ${p.role.padEnd(9)} ${p.node.api}  peers ${s.connectedPeers.length}  chains held ${s.chainsHeld}`)
  }
  const registry = await a.api.registry()
  detail(`registry ${registry.key.slice(0, 16)}… (${registry.length} entries, signed by the governance key), hosted by hospital-a`)

  say('Login audit: each institution\'s staff log in with their node\'s API key')
  const staff = new Map<string, ApiClient>()
  for (const p of parties) {
    const { client, session } = await loginWithApiKey(p.api, p.node.apiKey)
    staff.set(p.name, client)
    detail(`${p.name.padEnd(10)} granted: role ${session.role}, a bearer token until ${session.expiresAt}`)
  }
  const wrongSecret = withWrongSecret(agency.node.apiKey)
  await expectRefusal('agency, with a wrong secret for its key id', 'UNKNOWN_KEY', () => loginWithApiKey(agency.api, wrongSecret))
  await expectRefusal('hospital-a\'s key presented at hospital-b', 'UNKNOWN_KEY', () => loginWithApiKey(b.api, a.node.apiKey))
  const staffA = staff.get('hospital-a')!
  const staffB = staff.get('hospital-b')!
  // Where hospital-a's audit log stood when the demo began (its staff login is the line before).
  const auditFrom = Math.max(0, (await staffA.audit({ limit: 1 })).length - 1)

  say('hospital-a enrols a new user; the user\'s keys come from a recovery phrase on their phone')
  const phrase = newRecoveryPhrase()
  const user = userKeysFromPhrase(phrase, crypto)
  const usersDir = devPaths(dir).users
  await mkdir(usersDir, { recursive: true, mode: 0o700 })
  const phraseFile = join(usersDir, `${user.userId}.json`)
  await writeRecoveryPhrase(phraseFile, phrase)
  const enrolled = await enrolUser(staffA, user, crypto, a.name)
  detail(`user ${user.userId} enrolled: the genesis is signed by the user, the chain by hospital-a (its custodian)`)
  detail(`chain key ${enrolled.chainKey.slice(0, 16)}…; the phrase is kept in ${phraseFile} (owner-only)`)

  say('The user logs in from the phone by signing a one-time challenge')
  const { client: phoneA, session } = await loginAsUser(a.api, a.name, user, crypto)
  detail(`hospital-a: granted, role ${session.role}, subject ${session.subject}`)
  await expectRefusal('a challenge signed for hospital-b, presented at hospital-a', 'LOGIN_REFUSED', async () => {
    const { challenge } = await a.api.request('POST', '/v1/session/challenge', z.object({ challenge: z.string() }), { body: { userId: user.userId } })
    const signature = signLogin(b.name, fromHex(challenge, 32, 'challenge'), user.sign.secretKey, crypto)
    await a.api.request('POST', '/v1/session', sessionSchema, { body: { userId: user.userId, challenge, signature: bytesToHex(signature) } })
  })

  say('hospital-a writes an exam: a plain segment for every reader, a sealed one for the user and itself')
  const exam = await staffA.request('POST', `/v1/users/${user.userId}/entries`, writeReplySchema, {
    body: {
      type: 'exam',
      plain: { title: 'Annual check-up', observations: [{ code: '8480-6', value: 128, unit: 'mm[Hg]', low: 90, high: 120 }, { code: '29463-7', value: 71.5, unit: 'kg' }] },
      sealed: { observations: [{ code: '2345-7', value: 5.4, unit: 'mmol/L', low: 3.9, high: 5.5 }], notes: 'Fasting glucose at the upper end of normal.' }
    }
  })
  detail(`exam appended at position ${exam.seq}: hospital-a signed it and sealed the sealed part for the user and itself`)

  say('The phone writes exercise and GPS data, signed on the device')
  const now = Date.now()
  const exercise = await writeAsUser(phoneA, user, buildUserEntry('exercise', {
    start: now - 3_600_000, end: now, observations: [{ code: '55423-8', value: 6200, unit: '{steps}' }, { code: '8867-4', value: 96, unit: '/min' }]
  }, {}, crypto), crypto)
  detail(`exercise appended at position ${exercise.seq}, sent to hospital-a`)
  await replicated(staffB, 'hospital-b', user, exercise.seq + 1)
  const { client: phoneB } = await loginAsUser(b.api, b.name, user, crypto)
  const gps = await writeAsUser(phoneB, user, buildUserEntry('location', {
    points: [{ lat: 52.5200, lon: 13.4050, acc: 8, time: now - 1_800_000 }, { lat: 52.5215, lon: 13.4101, acc: 6, time: now - 900_000 }]
  }, {}, crypto), crypto)
  detail(`GPS track appended at position ${gps.seq}: sent to hospital-b, which forwarded it to hospital-a, the custodian`)

  say('Each party queries the chain and sees exactly what its role allows')
  const length = gps.seq + 1
  for (const p of [a, b, agency, regulator]) {
    const client = staff.get(p.name)!
    await replicated(client, p.name, user, length)
    const read = await client.entries(user.userId)
    const examView = read.entries.find((e) => e.type === 'exam')
    detail(`${p.name.padEnd(10)} (${p.role}): ${read.entries.length} entries with their plain segments; ${describeSealed(examView)}`)
  }
  const own = await phoneA.entries(user.userId)
  const opened = openEnvelope(own.entries.find((e) => e.type === 'exam')!, own.chainKey, user, crypto)
  detail(`the user   (user): ${own.entries.length} entries; the node sends the sealed part as ciphertext, the phone opens it: ${JSON.stringify(opened)}`)
  await expectRefusal('the agency (an inquirer) tries to write an exam', 'FORBIDDEN', () =>
    staff.get('agency')!.request('POST', `/v1/users/${user.userId}/entries`, writeReplySchema, { body: { type: 'exam', plain: { observations: [] } } }))

  say('The user grants hospital-b access; the phone re-wraps the history\'s data keys for it')
  const box = examinerBoxOf(registry.institutions, b.name)
  const grant = await grantExaminer(phoneA, user, b.name, box, crypto)
  detail(`consent grant at position ${grant.writes.map((w) => w.seq).join(', ')}, carrying ${grant.rewrapped} re-wrapped data key${grant.rewrapped === 1 ? '' : 's'}`)
  await replicated(staffB, 'hospital-b', user, grant.writes.at(-1)!.seq + 1)
  const afterGrant = await staffB.entries(user.userId, { type: 'exam' })
  detail(`hospital-b now: ${describeSealed(afterGrant.entries[0])}`)

  say('A tampered block is caught, and nothing is appended')
  const before = (await phoneA.chain(user.userId)).length
  const chainKey = fromHex(own.chainKey, 32, 'chainKey')
  const honest = signEntry(buildUserEntry('exercise', { start: now, end: now, observations: [{ code: '55423-8', value: 120, unit: '{steps}' }] }, {}, crypto), { chainKey, seq: before }, user.sign.secretKey, crypto)
  const tampered = { ...honest, sig: honest.sig.slice() }
  tampered.sig[0]! ^= 0x01
  await expectRefusal('an exercise entry with one bit of its signature flipped in transit', 'BAD_SIGNATURE', () => postUserEntry(phoneA, user, tampered, before))
  const inflated = { ...honest, plain: { ...honest.plain, observations: [{ code: '55423-8', value: 99_999, unit: '{steps}' }] } } as typeof honest
  await expectRefusal('the same entry with its step count raised after signing', 'BAD_SIGNATURE', () => postUserEntry(phoneA, user, inflated, before))
  detail(`chain length still ${(await phoneA.chain(user.userId)).length}`)

  say('The regulator verifies the whole chain on its replica: tree, signed head, every author signature, roles, consent')
  const regulatorClient = staff.get('regulator')!
  await replicated(regulatorClient, 'regulator', user, before)
  const report = await regulatorClient.verify(user.userId)
  detail(`valid: ${report.valid}; ${report.verified} entries verified, tree ${report.tree.ok ? `ok (${report.tree.blocksChecked} blocks checked)` : report.tree.problem ?? 'broken'}, forked: ${report.forked}`)
  if (!report.valid) throw new Error(`demo: the chain does not verify: ${report.problems.map((p) => p.code).join(', ')}`)

  say('Every step above was written to the audit log of the node it reached; hospital-a\'s, from its staff login on:')
  const audit = await staffA.audit({ start: auditFrom, limit: 100 })
  for (const line of renderAudit(audit).split('\n')) detail(line)

  console.log(`\nDone. The network keeps running (Ctrl-C in its terminal stops it). Try the CLI as this user:
   npm run healthchain -- user read --api ${a.node.api} --institution ${a.name} --phrase-file ${phraseFile}`)
}

/** The same key id with another secret: well-formed, wrong. */
function withWrongSecret (apiKey: string): string {
  const id = /^hck_([0-9a-f]{16})_/.exec(apiKey)?.[1] ?? '0000000000000000'
  return `hck_${id}_${'A'.repeat(42)}E`
}

main().catch((err) => {
  if (err instanceof NotRunning) {
    console.error(`${err.message}.\nThe demo needs the dev network: start it first with npm start (in another terminal), then run npm run demo again.`)
  } else {
    console.error(`\ndemo failed: ${err instanceof CliError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err)}`)
  }
  process.exitCode = 1
})
