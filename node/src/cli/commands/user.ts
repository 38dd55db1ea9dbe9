/**
 * `healthchain user new | enrol | write | read | grant | transfer | rotate`: a user's side over
 * a node's HTTP API (user-device.ts), as at an institution's terminal: the
 * user logs in to that node with a signed challenge and the node forwards
 * writes to the custodian. What a phone runs is `healthchain phone` (a
 * light peer, the reference user side); both build, sign and re-sign the
 * user's entries with @healthchain/client's same functions. The recovery
 * phrase is the user's identity: `user new` shows it once (or writes it
 * owner-only with --out); the other commands read it from a phrase file
 * and keep the keys in memory only. Every key generation derives from the
 * phrase: the commands log in and sign with the one in force at the node
 * (user-custody.ts), `rotate` puts the next one in force, and `transfer`
 * moves the chain to another examiner.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { Option, type Command } from 'commander'
import {
  newRecoveryPhrase, userKeysFromPhrase, type ExercisePlain, type InstitutionId, type LocationPlain, type UnsignedEntry, type UserId, type UserKeys
} from '@healthchain/core'
import { buildExerciseEntry, buildLocationEntry, isClientError } from '@healthchain/client'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { writeRecoveryPhrase } from '@healthchain/ledger'
import type { EntriesReply } from '../../api/index.js'
import { ApiClient, loginWithApiKey } from '../api-client.js'
import type { CliContext } from '../context.js'
import { CliError, usageError } from '../errors.js'
import { Output, toJsonText } from '../output.js'
import { apiKeyOption, examples, grantEndArg, institutionIdArg, pathArg, urlArg, userIdArg, withJson } from '../options.js'
import { loginWithPhrase, openAllWith, rotateKeys, TRANSFER_TIMEOUT_MS, transferChain } from '../user-custody.js'
import { clientStep, enrolUser, examinerBoxOf, grantExaminer, readPhraseFile, writeAsUser } from '../user-device.js'

const WRITABLE_TYPES = ['exercise', 'location'] as const
const READABLE_TYPES = ['genesis', 'exam', 'exercise', 'location', 'consent', 'erasure'] as const

export function registerUser (program: Command, ctx: CliContext): void {
  const user = program.command('user').helpCommand(false)
    .description('a user\'s side over a node\'s HTTP API, as at an institution\'s terminal: recovery phrase, enrolment, own writes and reads')
    .addHelpText('after', `
Which to use: a phone is a light peer that syncs and verifies its own chain over libp2p and keeps
an offline outbox: \`healthchain phone\`, the reference user side. These \`user\` commands act for a
user through one node's HTTP API (the node checks the login, forwards writes to the custodian);
they write the same entries, built, signed and re-signed by the same client code.
`)

  withJson(user.command('new'))
    .summary('a new user: recovery phrase and user id')
    .description('Create a new user: a 24-word recovery phrase, from which the user\'s keys and id derive. Without --out the phrase is printed, once: write it down. With --out it is written to the file (owner-only) and not printed.')
    .option('--out <file>', 'write the phrase to this file (0600; refused if it exists)', pathArg)
    .addHelpText('after', examples('healthchain user new --out ./alice.phrase.json', 'healthchain user new --json'))
    .action(async (opts: { out?: string, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const phrase = newRecoveryPhrase()
      const keys = userKeysFromPhrase(phrase, crypto)
      if (opts.out !== undefined) {
        // A phrase overwritten is an identity lost: never replace a file.
        if (existsSync(opts.out)) throw new CliError('BAD_FILE', `${opts.out} exists: choose another file (a phrase file is never overwritten)`)
        await writeRecoveryPhrase(opts.out, phrase)
        out.result({ userId: keys.userId, phraseFile: opts.out }, [
          `user ${keys.userId}`,
          `recovery phrase written to ${opts.out} (owner-only). Whoever holds it is this user: keep a copy offline.`
        ])
        return
      }
      out.result({ userId: keys.userId, phrase }, [
        `user ${keys.userId}`,
        'recovery phrase (shown once; whoever holds it is this user; write it down and keep it offline):',
        '',
        `  ${phrase}`
      ])
    })

  withJson(user.command('enrol'))
    .summary('enrol a user at an examiner\'s node (staff + user)')
    .description('Enrol a user at an examiner\'s node, which becomes the custodian of the user\'s chain: staff log in with the node\'s API key, the node names the chain key, the user\'s keys sign the genesis for it.')
    .requiredOption('--api <url>', 'the examiner node\'s API URL', urlArg)
    .addOption(apiKeyOption('a staff API key of that node').makeOptionMandatory())
    .requiredOption('--phrase-file <file>', 'the user\'s phrase file (`user new --out`)', pathArg)
    .option('--institution <id>', 'the custodian the genesis names (default: the node\'s own id, which it checks)', institutionIdArg)
    .addHelpText('after', examples('healthchain user enrol --api http://127.0.0.1:7000 --api-key hck_… --phrase-file ./alice.phrase.json'))
    .action(async (opts: { api: string, apiKey: string, phraseFile: string, institution?: InstitutionId, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const phrase = await readPhraseFile(opts.phraseFile)
      const keys = clientStep(() => userKeysFromPhrase(phrase, crypto))
      const { client } = await loginWithApiKey(new ApiClient(opts.api), opts.apiKey)
      const chain = await enrolUser(client, keys, crypto, opts.institution, { phrase })
      out.result(chain, [`enrolled user ${chain.userId} at ${chain.custodian} (custodian)`, `chain key ${chain.chainKey}, length ${chain.length}`])
    })

  withJson(user.command('write'))
    .summary('write exercise or location data as the user')
    .description('Write an exercise or location entry as the user: log in by signing the node\'s challenge, sign the entry on this machine for the chain\'s next position, send it. Times may be milliseconds or ISO 8601.')
    .requiredOption('--api <url>', 'a node holding the user\'s chain (writes are forwarded to the custodian)', urlArg)
    .requiredOption('--institution <id>', 'that node\'s institution id: the login signature is bound to it', institutionIdArg)
    .requiredOption('--phrase-file <file>', 'the user\'s phrase file', pathArg)
    .addOption(new Option('--type <type>', 'the entry type').choices(WRITABLE_TYPES).makeOptionMandatory())
    .requiredOption('--data <json>', 'the entry\'s plain segment as JSON, or @file to read it from a file')
    .addHelpText('after', examples(
      'healthchain user write --api http://127.0.0.1:7000 --institution hospital-a --phrase-file ./alice.phrase.json --type exercise --data \'{"start":"2025-01-01T07:00:00Z","end":"2025-01-01T08:00:00Z","observations":[{"code":"55423-8","value":6200,"unit":"{steps}"}]}\'',
      'healthchain user write --api http://127.0.0.1:7000 --institution hospital-a --phrase-file ./alice.phrase.json --type location --data \'{"points":[{"lat":52.52,"lon":13.405,"acc":8,"time":"2025-01-01T07:30:00Z"}]}\'',
      'healthchain user write --api http://127.0.0.1:7000 --institution hospital-a --phrase-file ./alice.phrase.json --type location --data @walk.json'
    ) + `
The plain segment, by type:
  exercise  { start, end, observations: [{ code (LOINC: 55423-8 steps, 55430-3 distance, 41981-2 active energy, 8867-4 heart rate), value, unit (UCUM), time? }] }
  location  { points: [{ lat, lon, acc (metres), time }] }   (up to the entry size limit; \`phone import\` reads GPX and CSV)
`)
    .action(async (opts: {
      api: string, institution: InstitutionId, phraseFile: string, type: typeof WRITABLE_TYPES[number], data: string, json?: boolean
    }) => {
      const out = new Output(ctx.io, opts)
      const phrase = await readPhraseFile(opts.phraseFile)
      const unsigned = buildPlain(opts.type, await readData(opts.data))
      const { client, keys } = await loginWithPhrase(new ApiClient(opts.api), opts.institution, phrase, crypto)
      const written = await writeAsUser(client, keys, unsigned, crypto)
      out.result({ userId: keys.userId, type: opts.type, ...written }, `${opts.type} entry ${written.id} ${written.duplicate ? 'was already appended' : 'appended'} at position ${written.seq} of ${keys.userId}'s chain`)
    })

  withJson(user.command('read'))
    .summary('read a chain as the user or as staff')
    .description('Read a chain as the node shows it to the caller\'s role: as the user (phrase file; sealed parts are opened on this machine), or as staff (API key; examiners see sealed parts they are a recipient of, inquirers and regulators never).')
    .requiredOption('--api <url>', 'a node holding the chain', urlArg)
    .option('--phrase-file <file>', 'read as the user (needs --institution)', pathArg)
    .option('--institution <id>', 'with --phrase-file: the node\'s institution id (the login signature is bound to it)', institutionIdArg)
    // Not .conflicts(): an API key exported in HEALTHCHAIN_API_KEY must not stop a user from reading with their phrase.
    .addOption(apiKeyOption('read as staff: an API key of that node; --phrase-file wins if both are given'))
    .option('--user <id>', 'the user whose chain to read (default with --phrase-file: that user)', userIdArg)
    .addOption(new Option('--type <type>', 'only entries of this type').choices(READABLE_TYPES))
    .addHelpText('after', examples(
      'healthchain user read --api http://127.0.0.1:7000 --institution hospital-a --phrase-file ./alice.phrase.json',
      'healthchain user read --api http://127.0.0.1:7002 --api-key hck_… --user <user id> --type exam --json'
    ))
    .action(async (opts: { api: string, phraseFile?: string, institution?: InstitutionId, apiKey?: string, user?: UserId, type?: string, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const api = new ApiClient(opts.api)
      let client: ApiClient
      let keys: readonly UserKeys[] | undefined
      let userId: UserId
      if (opts.phraseFile !== undefined) {
        if (opts.institution === undefined) throw usageError('--phrase-file needs --institution <id>: the id of the node at --api, which the login signature is bound to')
        const phrase = await readPhraseFile(opts.phraseFile)
        const own = clientStep(() => userKeysFromPhrase(phrase, crypto))
        if (opts.user !== undefined && opts.user !== own.userId) throw usageError(`--user ${opts.user} is not the phrase's user (${own.userId}): a user reads their own chain only`)
        const session = await loginWithPhrase(api, opts.institution, phrase, crypto)
        userId = session.keys.userId
        keys = session.all
        client = session.client
      } else if (opts.apiKey !== undefined) {
        if (opts.user === undefined) throw usageError('--api-key needs --user <id>: whose chain to read')
        userId = opts.user
        client = (await loginWithApiKey(api, opts.apiKey)).client
      } else {
        throw usageError('say who reads: --phrase-file <file> --institution <id> (the user) or --api-key <key> (staff)')
      }
      const read = await client.entries(userId, opts.type === undefined ? {} : { type: opts.type })
      const shown = keys === undefined ? read : openAllWith(read, keys, crypto)
      out.result(shown, renderEntries(shown, keys !== undefined))
    })

  withJson(user.command('grant'))
    .summary('grant an examiner access to sealed data, history included')
    .description('Grant an examiner access to the user\'s sealed data: future exams are sealed for it too, and the data keys of the exams already in the chain are re-wrapped for it (on this machine) so it can read the history.')
    .requiredOption('--api <url>', 'a node holding the user\'s chain', urlArg)
    .requiredOption('--institution <id>', 'that node\'s institution id (the login signature is bound to it)', institutionIdArg)
    .requiredOption('--phrase-file <file>', 'the user\'s phrase file', pathArg)
    .requiredOption('--examiner <id>', 'the examiner to grant', institutionIdArg)
    .option('--until <time>', 'access ends at this time (ISO 8601 with a zone, in the future; default: until revoked)', grantEndArg)
    .addHelpText('after', examples('healthchain user grant --api http://127.0.0.1:7000 --institution hospital-a --phrase-file ./alice.phrase.json --examiner hospital-b'))
    .action(async (opts: { api: string, institution: InstitutionId, phraseFile: string, examiner: InstitutionId, until?: number, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const until = opts.until
      const phrase = await readPhraseFile(opts.phraseFile)
      const api = new ApiClient(opts.api)
      const box = examinerBoxOf((await api.registry()).institutions, opts.examiner)
      const { client, keys, all } = await loginWithPhrase(api, opts.institution, phrase, crypto)
      const boxes = all.map((k: UserKeys) => k.box)
      const result = await grantExaminer(client, keys, opts.examiner, box, crypto, until === undefined ? { boxes } : { until, boxes })
      out.result({ userId: keys.userId, examiner: opts.examiner, ...result }, `granted ${opts.examiner} access (${result.rewrapped} past exam key${result.rewrapped === 1 ? '' : 's'} re-wrapped) at position${result.writes.length === 1 ? '' : 's'} ${result.writes.map((w) => w.seq).join(', ')}`)
    })

  withJson(user.command('transfer'))
    .summary('move the user\'s chain to another examiner, which becomes its custodian')
    .description('Move the user\'s chain to another examiner: log in there, get its offer (it first fetches from its peers whatever it lacks of the chain; the old custodian may be gone), check the offer on this machine (it continues this user\'s chain, to the institution asked, and the old custodian\'s signed head in it verifies), sign the migrate with the key in force, send it. The history stays one chain under the new key.')
    .requiredOption('--to <institution>', 'the new custodian (the login signature is bound to it)', institutionIdArg)
    .requiredOption('--api <url>', 'the new custodian\'s API URL', urlArg)
    .requiredOption('--phrase-file <file>', 'the user\'s phrase file', pathArg)
    .addHelpText('after', examples('healthchain user transfer --to hospital-b --api http://127.0.0.1:7010 --phrase-file ./alice.phrase.json'))
    .action(async (opts: { to: InstitutionId, api: string, phraseFile: string, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const session = await loginWithPhrase(new ApiClient(opts.api, { timeoutMs: TRANSFER_TIMEOUT_MS }), opts.to, await readPhraseFile(opts.phraseFile), crypto)
      const { moved } = await transferChain(session, opts.to, crypto, (line) => { out.progress(line) })
      out.result(moved, [
        `moved ${moved.userId}'s chain to ${moved.custodian} (custodian): it continues under key ${moved.chainKey}`,
        `the chain ${moved.from} closed at ${moved.length} entries; its history is the new chain's first ${moved.length}`
      ])
    })

  withJson(user.command('rotate'))
    .summary('rotate the user\'s keys to the next generation')
    .description('Rotate the user\'s keys: read which generation is in force (the chain\'s count of key rotations), reveal the next generation\'s keys (derived from the phrase, committed to by the chain) in a rekey entry they sign, and send it. Later logins and writes use the new key, new exams are sealed to the new box key, the old key no longer logs in. The recovery phrase stays the same: every generation derives from it.')
    .requiredOption('--api <url>', 'a node holding the user\'s chain (writes are forwarded to the custodian)', urlArg)
    .requiredOption('--institution <id>', 'that node\'s institution id (the login signature is bound to it)', institutionIdArg)
    .requiredOption('--phrase-file <file>', 'the user\'s phrase file', pathArg)
    .addHelpText('after', examples('healthchain user rotate --api http://127.0.0.1:7000 --institution hospital-a --phrase-file ./alice.phrase.json'))
    .action(async (opts: { api: string, institution: InstitutionId, phraseFile: string, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const session = await loginWithPhrase(new ApiClient(opts.api), opts.institution, await readPhraseFile(opts.phraseFile), crypto)
      const { written, generation } = await rotateKeys(session, crypto)
      out.result({ userId: session.keys.userId, generation, ...written }, [
        `rotated ${session.keys.userId}'s keys to generation ${generation} (rekey at position ${written.seq}${written.duplicate ? ', already appended' : ''})`,
        'the recovery phrase stays the same: every generation derives from it; keep the phrase file as it is'
      ])
    })
}

async function readData (data: string): Promise<unknown> {
  const text = data.startsWith('@') ? await readFile(data.slice(1), 'utf8') : data
  try {
    return JSON.parse(text)
  } catch {
    throw usageError(`--data: not valid JSON${data.startsWith('@') ? ` (in ${data.slice(1)})` : ''}`)
  }
}

/** ISO 8601 strings where the entry wants milliseconds, for people typing JSON. */
function millis (value: unknown): unknown {
  if (typeof value !== 'string') return value
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? value : ms
}

function withMillis (type: typeof WRITABLE_TYPES[number], raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw
  const plain = raw as Record<string, unknown>
  const observations = Array.isArray(plain.observations)
    ? plain.observations.map((o: unknown) => o !== null && typeof o === 'object' && 'time' in o ? { ...o, time: millis((o as { time: unknown }).time) } : o)
    : plain.observations
  if (type === 'exercise') return { ...plain, start: millis(plain.start), end: millis(plain.end), ...(observations === undefined ? {} : { observations }) }
  const points = Array.isArray(plain.points)
    ? plain.points.map((p: unknown) => p !== null && typeof p === 'object' && 'time' in p ? { ...p, time: millis((p as { time: unknown }).time) } : p)
    : plain.points
  return { ...plain, points }
}

function buildPlain (type: typeof WRITABLE_TYPES[number], raw: unknown): UnsignedEntry {
  try {
    const plain = withMillis(type, raw)
    return type === 'exercise' ? buildExerciseEntry(plain as ExercisePlain, crypto) : buildLocationEntry(plain as LocationPlain, crypto)
  } catch (err) {
    // The schema names the field (plain.points.0.lat): a usage error, nothing was sent.
    if (isClientError(err, 'INVALID_INPUT')) throw usageError(`--data: ${err.message}`)
    throw err
  }
}

function renderEntries (read: EntriesReply, asUser: boolean): string[] {
  const lines = [`chain of ${read.userId}: ${read.entries.length} entr${read.entries.length === 1 ? 'y' : 'ies'} shown (verified length ${read.verifiedLength})${read.forked ? ' — FORKED: the custodian signed two histories' : ''}`]
  for (const e of read.entries) {
    lines.push(`  #${e.seq}  ${e.type.padEnd(8)}  by ${e.author.padEnd(12)}  ${e.time}`)
    lines.push(`       plain:  ${compact(readableTimes(e.plain))}`)
    if (e.sealed === undefined) continue
    if (e.sealed.readable) lines.push(`       sealed: ${asUser ? '(opened on this machine) ' : ''}${compact(readableTimes(e.sealed.data))}`)
    else lines.push('       sealed: (not readable by this institution)')
  }
  return lines
}

/** Fields entries keep as milliseconds since the epoch. */
const TIME_FIELDS = new Set(['start', 'end', 'time', 'until'])

/** For the text output only: those fields as ISO 8601 (--json keeps the entry as stored). */
function readableTimes (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(readableTimes)
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value
  return Object.fromEntries(Object.entries(value).map(([key, v]) =>
    [key, TIME_FIELDS.has(key) && typeof v === 'number' && Number.isSafeInteger(v) ? new Date(v).toISOString() : readableTimes(v)]))
}

function compact (value: unknown): string {
  const text = toJsonText(value).replace(/\s*\n\s*/g, ' ')
  return text.length > 160 ? `${text.slice(0, 157)}...` : text
}
