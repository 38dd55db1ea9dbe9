/**
 * Users' chains over HTTP (DESIGN §5, S2): every route is guarded
 * (requireAuth: token, role, audit line) and then checked against the
 * permission table again where the role alone does not settle it (a user
 * reads and writes only their own chain).
 *
 *   GET  /v1/users/{id}/chain-key   examiner        the key this node gives the chain when it enrols the user
 *   POST /v1/users                  examiner        enrol from a user-signed genesis; this node becomes custodian
 *   GET  /v1/users/{id}             all (user: own) the chain's key, custodian, lengths, fork flag
 *   POST /v1/users/{id}/entries     examiner        { type: 'exam', plain, sealed } — the node signs and seals
 *                                   user (own)      { entry, seq } — an entry the user signed for position seq
 *   GET  /v1/users/{id}/entries     all (user: own) entries as entry-view.ts shows them to the caller's role
 *   GET  /v1/users/{id}/verify      all (user: own) the full integrity report
 *
 * Writes are appended here when this node is the custodian (an examiner's
 * exam signed inside the append batch), else forwarded to it through the
 * network node; answered only once durably appended.
 */
import {
  ENTRY_TYPES, assembleExam, bytesToHex, can, decodeEntry, examPlainSchema, examSealedSchema, newEntryId, signEntry, userIdFromKey,
  type CryptoProvider, type Entry, type ExamPlain, type ExamSealed, type InstitutionId, type PartyKeys, type UnsignedEntry, type UserId
} from '@healthchain/core'
import type { AppendResult, Ledger, ReadQuery, UserChain } from '@healthchain/ledger'
import type { FastifyRequest } from 'fastify'
import type { NetworkNode } from '@healthchain/net'
import { z } from 'zod'
import type { Sessions } from '../../auth/sessions.js'
import { NodeError } from '../../errors.js'
import type { ExamSealer } from '../../sealing/exam-sealer.js'
import { BEARER_SECURITY, requireAuth, sessionOf } from '../auth.js'
import { chainSummarySchema, entriesReplySchema, writeReplySchema } from '../chain-replies.js'
import { grantedKeysFor, viewOf, type EntryView } from '../entry-view.js'
import { errorBodySchema } from '../errors.js'
import { inPart, instantSchema, toMs } from '../request-params.js'
import { checkWindow } from '../../query-index/params.js'
import { checkExamUnits } from '../../ucum.js'
import type { App } from '../types.js'

export interface ChainRoutesDeps {
  readonly sessions: Sessions
  readonly network: NetworkNode
  readonly ledger: Ledger
  /** This node's institution and its keys (it signs and seals examiners' writes). */
  readonly institution: { readonly id: InstitutionId, readonly keys: PartyKeys }
  readonly crypto: CryptoProvider
  /** Seals examiners' exams, on worker threads in the daemon (sealing/exam-sealer.ts). */
  readonly sealer: ExamSealer
}

const errors = { '4XX': errorBodySchema, '5XX': errorBodySchema }
const hexBytes = (what: string) => z.string().regex(/^([0-9a-fA-F]{2})+$/, { error: `expected ${what} as hex` })
const userParams = z.strictObject({ id: z.string().regex(/^[a-z2-7]{32}$/, { error: 'expected a 32-character user id' }) })

const examWriteSchema = z.strictObject({
  type: z.literal('exam'),
  plain: examPlainSchema,
  sealed: examSealedSchema.optional()
}).describe('examiner: the node signs as the institution and seals for the user, itself and the granted examiners')

const userWriteSchema = z.strictObject({
  entry: hexBytes('the encoded, user-signed entry'),
  seq: z.int().min(1).describe('the position the entry was signed for')
}).describe('user: an entry signed on the device for position seq')

// Positions as plain digits: z.coerce would read `?start=` as 0 (and `0x10`, `1e3` as numbers) instead of refusing them.
const position = (what: string) => z.string().regex(/^\d{1,15}$/, { error: `expected ${what} as a non-negative integer` })

const readQuerySchema = z.strictObject({
  type: z.enum(ENTRY_TYPES).optional(),
  since: instantSchema.optional(),
  until: instantSchema.optional(),
  start: position('the first position').optional(),
  end: position('the position to stop before').optional()
})

export function registerChainRoutes (app: App, deps: ChainRoutesDeps): void {
  const { sessions, ledger, network } = deps
  const target = (request: { params: unknown }) => `user:${(request.params as { id?: string }).id ?? ''}`

  app.get('/v1/users/:id/chain-key', {
    ...requireAuth(sessions, { roles: ['examiner'], action: 'read', target }),
    schema: {
      summary: 'The key this node gives a user\'s chain when it enrols them (sign the genesis for it, position 0)',
      tags: ['users'], params: userParams, security: BEARER_SECURITY,
      response: { 200: z.object({ userId: z.string(), chainKey: z.string(), custodian: z.string() }), ...errors }
    }
  }, async (request) => {
    const user = request.params.id as UserId
    const key = ledger.hasChain(user) ? (await ledger.chain(user)).key : await ledger.chainKeyFor(user)
    return { userId: user, chainKey: bytesToHex(key), custodian: deps.institution.id }
  })

  app.post('/v1/users', {
    ...requireAuth(sessions, { roles: ['examiner'], action: 'enrol', target: (r) => `user:${userOfGenesisBody(r.body) ?? '(unknown)'}` }),
    schema: {
      summary: 'Enrol a user from a genesis they signed; this node becomes the custodian',
      tags: ['users'], security: BEARER_SECURITY,
      body: z.strictObject({ genesis: hexBytes('the encoded genesis entry') }),
      response: { 201: chainSummarySchema, ...errors }
    }
  }, async (request, reply) => {
    const genesis = decodeEntry(hexToBytes(request.body.genesis))
    const chain = await network.enrol(genesis)
    return await reply.code(201).send(await summary(chain, deps))
  })

  app.get('/v1/users/:id', {
    ...requireAuth(sessions, { roles: ['user', 'examiner', 'inquirer', 'regulator'], action: 'read', target }),
    schema: { summary: 'A chain\'s key, custodian and lengths', tags: ['users'], params: userParams, security: BEARER_SECURITY, response: { 200: chainSummarySchema, ...errors } }
  }, async (request) => {
    const chain = await readableChain(request, deps)
    return await summary(chain, deps)
  })

  app.post('/v1/users/:id/entries', {
    ...requireAuth(sessions, { roles: ['examiner', 'user'], action: 'write', target }),
    schema: {
      summary: 'Write an entry (S2): examiners send an exam to seal and sign; users send an entry they signed',
      tags: ['entries'], params: userParams, security: BEARER_SECURITY,
      body: z.union([examWriteSchema, userWriteSchema]),
      response: { 201: writeReplySchema, ...errors }
    }
  }, async (request, reply) => {
    const session = sessionOf(request)
    const user = request.params.id as UserId
    const body = request.body
    let result
    if (session.role === 'examiner') {
      if (!('type' in body)) throw new NodeError('FORBIDDEN', 'an examiner sends { type: "exam", plain, sealed }: the node signs as the institution')
      result = await writeExam(deps, user, body, 'body.')
    } else {
      if (session.subject !== user) throw new NodeError('FORBIDDEN', 'a user writes to their own chain only')
      if (!('entry' in body)) throw new NodeError('FORBIDDEN', 'a user sends an entry signed on their device: { entry, seq }')
      result = await writeUserEntry(deps, user, body)
    }
    return await reply.code(201).send(result)
  })

  app.get('/v1/users/:id/entries', {
    ...requireAuth(sessions, { roles: ['user', 'examiner', 'inquirer', 'regulator'], action: 'read', target }),
    schema: {
      summary: 'Query (S2): entries filtered by type and time; sealed parts only as the role allows',
      tags: ['entries'], params: userParams, querystring: readQuerySchema, security: BEARER_SECURITY,
      response: { 200: entriesReplySchema, ...errors }
    }
  }, async (request) => {
    const q = request.query
    const since = toMs(q.since)
    const until = toMs(q.until)
    // The same window rules as every time query: within 2000–2200, until after since.
    if (since !== undefined || until !== undefined) inPart('query', () => checkWindow(since, until))
    return await readViews(request, deps, {
      ...(q.type === undefined ? {} : { types: [q.type] }),
      ...(since === undefined ? {} : { since }),
      ...(until === undefined ? {} : { until }),
      // Reads start after the genesis by default; asked for the genesis by type, start at it.
      ...(q.start === undefined ? (q.type === 'genesis' ? { start: 0 } : {}) : { start: Number(q.start) }),
      ...(q.end === undefined ? {} : { end: Number(q.end) })
    })
  })

  app.get('/v1/users/:id/verify', {
    ...requireAuth(sessions, { roles: ['user', 'examiner', 'inquirer', 'regulator'], action: 'read', target }),
    schema: {
      summary: 'The full integrity report of a chain: tree, signed head, every author signature, roles, consent, erasures',
      tags: ['entries'], params: userParams, security: BEARER_SECURITY,
      response: {
        200: z.object({
          chainKey: z.string(), userId: z.string().nullable(), length: z.int(), valid: z.boolean(), verified: z.int(),
          tree: z.object({ ok: z.boolean(), blocksChecked: z.int(), problem: z.string().nullable() }),
          erased: z.array(z.int()), missing: z.array(z.int()),
          problems: z.array(z.object({ seq: z.int().nullable(), code: z.string(), message: z.string() })),
          forked: z.boolean()
        }),
        ...errors
      }
    }
  }, async (request) => {
    const chain = await readableChain(request, deps)
    const report = await ledger.verify(chain.userId!)
    const forked = network.isForked(chain.key)
    return {
      chainKey: report.chainKey,
      userId: report.userId ?? null,
      length: report.length,
      valid: report.valid && !forked,
      verified: report.verified,
      tree: { ok: report.tree.ok, blocksChecked: report.tree.blocksChecked, problem: report.tree.problem ?? null },
      erased: [...report.erased],
      missing: [...report.missing],
      problems: report.problems.map((p) => ({ seq: p.seq ?? null, code: p.code, message: p.message })),
      forked
    }
  })
}

export interface ChainViews {
  readonly userId: string
  readonly chainKey: string
  readonly verifiedLength: number
  readonly forked: boolean
  readonly entries: EntryView[]
}

/** The entries of the chain in the path as the caller's role may see them (entry-view.ts), after the same checks as a read. */
export async function readViews (request: FastifyRequest & { params: { id: string } }, deps: ChainRoutesDeps, query: ReadQuery): Promise<ChainViews> {
  const session = sessionOf(request)
  const chain = await readableChain(request, deps)
  const read = await deps.network.read(chain.userId!, query)
  const examiner = session.role === 'examiner'
  const granted = examiner ? grantedKeysFor(await chain.read({ types: ['consent'] }), deps.institution.id) : undefined
  const ctx = { role: session.role, chainKey: chain.key, crypto: deps.crypto, ...(examiner ? { box: deps.institution.keys.box, granted } : {}) }
  return {
    userId: chain.userId!,
    chainKey: bytesToHex(chain.key),
    verifiedLength: read.verifiedLength,
    forked: read.fork !== undefined,
    entries: read.entries.map((e) => viewOf(e, ctx))
  }
}

/** The chain named in the path, if the caller may read it: a user only their own (403), and only one held here (404). */
async function readableChain (request: { params: { id: string } }, deps: ChainRoutesDeps): Promise<UserChain> {
  const session = sessionOf(request as never)
  const user = request.params.id as UserId
  if (!can(session.role, 'read', 'plain')) throw new NodeError('FORBIDDEN', `role ${session.role} may not read chains`)
  if (session.role === 'user' && session.subject !== user) throw new NodeError('FORBIDDEN', 'a user reads their own chain only')
  return await deps.ledger.chain(user)
}

async function summary (chain: UserChain, deps: ChainRoutesDeps): Promise<z.infer<typeof chainSummarySchema>> {
  const genesisUser = chain.user
  if (genesisUser === undefined) throw new NodeError('INTERNAL', 'chain without a genesis')
  return {
    userId: genesisUser.userId,
    chainKey: bytesToHex(chain.key),
    custodian: genesisUser.custodian,
    length: chain.writable ? chain.length : chain.verifiedLength,
    verifiedLength: chain.writable ? chain.length : chain.verifiedLength,
    forked: deps.network.isForked(chain.key)
  }
}

/**
 * An examiner's exam (plain, and sealed for the user, this institution and
 * the granted examiners), signed as the institution and appended at the
 * custodian. Its units are checked against UCUM first; a refusal names the
 * field under `fieldPrefix` (`body.` for a request body).
 */
export async function writeExam (deps: ChainRoutesDeps, user: UserId, body: { plain: ExamPlain, sealed?: ExamSealed }, fieldPrefix = ''): Promise<{ seq: number, id: string, duplicate: boolean }> {
  checkExamUnits(body, fieldPrefix)
  const chain = await deps.ledger.chain(user)
  const { id: author, keys } = deps.institution
  const id = newEntryId(deps.crypto)
  const sealed = await deps.sealer.seal({
    payload: body.sealed ?? {}, recipients: chain.examRecipients(keys.box.publicKey), ctx: { chainKey: chain.key, entryId: id }
  })
  // The registry length is read after sealing, so the entry names the registry as it is when it is signed.
  const unsigned = assembleExam({ id, author, reg: deps.ledger.registry.length, plain: body.plain, sealed })
  const result = chain.writable
    ? await appendOwnExam(deps, user, chain, unsigned)
    : await deps.network.append(user, (seq) => signEntry(unsigned, { chainKey: chain.key, seq }, keys.sign.secretKey, deps.crypto))
  return { seq: result.seq, id: bytesToHex(unsigned.id), duplicate: result.duplicate }
}

/**
 * This node's own write to a chain it is custodian of: signed inside the
 * chain's append batch for the position it lands on (appendSigned), then
 * announced as NetworkNode.append would. The same rules run (the signer must
 * be the author's registered key), but the entry is not encoded, decoded and
 * its fresh signature verified again, as the forwarding path must, and a
 * concurrent write can never make it stale.
 */
async function appendOwnExam (deps: ChainRoutesDeps, user: UserId, chain: UserChain, unsigned: UnsignedEntry): Promise<AppendResult> {
  // Announced by the network from the ledger's change event, like every append.
  return await chain.appendSigned(unsigned, deps.institution.keys.sign)
}

async function writeUserEntry (deps: ChainRoutesDeps, user: UserId, body: z.infer<typeof userWriteSchema>): Promise<{ seq: number, id: string, duplicate: boolean }> {
  const entry: Entry = decodeEntry(hexToBytes(body.entry))
  if (entry.author !== 'user') throw new NodeError('FORBIDDEN', 'a user writes entries authored by the user only')
  if (!can('user', 'write', entry.type)) throw new NodeError('FORBIDDEN', `a user may not write ${entry.type} entries`)
  // Signed for one position: no re-signing here, so a stale position is answered (409 STALE_POSITION) for the device to re-sign.
  const result = await deps.network.append(user, () => entry, { knownLength: body.seq, retries: 0 })
  return { seq: result.seq, id: bytesToHex(entry.id), duplicate: result.duplicate }
}

function userOfGenesisBody (body: unknown): string | undefined {
  try {
    const entry = decodeEntry(hexToBytes((body as { genesis: string }).genesis))
    return entry.type === 'genesis' ? userIdFromKey(entry.plain.user.sign) : undefined
  } catch {
    return undefined
  }
}

function hexToBytes (hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'))
}
