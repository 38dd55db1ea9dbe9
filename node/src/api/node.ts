/**
 * The node itself: status, the consortium registry, logins, the audit log.
 */
import { INSTITUTION_ROLES } from '@healthchain/core'
import { z } from 'zod'
import { AUDIT_ACTIONS, AUDIT_RESULTS } from '../audit/audit-line.js'
import { hexSchema, userIdSchema } from './common.js'

// ---- GET /v1/status

export const statusSchema = z.object({
  name: z.string().describe('the institution id this node runs as'),
  role: z.enum(INSTITUTION_ROLES),
  peerId: z.string().nullable().describe('libp2p peer id; null while the network is not started'),
  connectedPeers: z.array(z.string()).describe('peer ids of the institutions this node is connected to'),
  chainsHeld: z.int().min(0).describe('user chains held here, as custodian or replica'),
  replicationLag: z.object({
    chainsBehind: z.int().min(0).describe('chains for which a longer head was seen than is held here'),
    blocksBehind: z.int().min(0).describe('blocks missing over those chains')
  }).nullable().describe('null until the network reports it'),
  catchUp: z.object({
    peersReconciled: z.int().min(0).describe('peers that compared heads with this node since it started'),
    quorum: z.int().min(1).describe('how many must have, before an own chain takes a write'),
    chainsBehind: z.int().min(0).describe('own chains a peer holds more of, being fetched back'),
    blocksBehind: z.int().min(0).describe('blocks missing over those chains')
  }).nullable().describe('while a node restored from a backup holds writes to its own chains until it caught up: where it stands; else null')
}).describe('node status')
export type NodeStatusReport = z.infer<typeof statusSchema>
export type StatusReply = NodeStatusReport
/** What the network and ledger know; name and role come from the config. */
export type StatusFields = Omit<NodeStatusReport, 'name' | 'role'>

// ---- GET and POST /v1/registry

export const registrySchema = z.object({
  key: hexSchema.describe('the registry\'s Hypercore key (= the governance public key), hex'),
  length: z.int().describe('entries so far: the position the next entry must be signed for'),
  writable: z.boolean().describe('whether this node hosts the registry (accepts POST /v1/registry)'),
  institutions: z.array(z.object({
    id: z.string(),
    name: z.string(),
    role: z.string(),
    status: z.string(),
    peer: z.string().nullable(),
    addrs: z.array(z.string()),
    sign: hexSchema,
    box: hexSchema,
    since: z.int(),
    keys: z.array(z.object({
      sign: hexSchema,
      box: hexSchema,
      since: z.int().describe('registry position of the admit or rotate entry that listed this key pair: it signs entries whose `reg` is above it')
    })).describe('every key pair the institution has had, oldest first: an entry is checked with the last one whose `since` is below its `reg`')
  })),
  noticeDays: z.int().describe('the notice period a reassignment must leave a suspended custodian\'s users, in days'),
  reassignments: z.array(z.object({
    institution: z.string().describe('the suspended custodian'),
    to: z.string().describe('the examiner that may continue its chains'),
    after: z.int().describe('from this time (ms since epoch) on'),
    since: z.int().describe('registry position of the reassign entry')
  })).describe('reassignments in force: a reinstatement of the institution cancels its own')
})
export type RegistryReply = z.infer<typeof registrySchema>

export const registryAppendRequestSchema = z.strictObject({
  entry: z.string().regex(/^([0-9a-fA-F]{2})+$/, { error: 'expected the encoded, governance-signed registry entry as hex' })
})

export const registryAppendReplySchema = z.object({ seq: z.int(), type: z.string(), plain: z.unknown() })
export type RegistryAppendReply = z.infer<typeof registryAppendReplySchema>

// ---- POST /v1/session/challenge and /v1/session

export const challengeRequestSchema = z.strictObject({ userId: userIdSchema })

/** The most key generations a client derives for a login: a node naming more is answering nonsense, and deriving each costs time. */
export const MAX_KEY_GENERATION = 1024

export const challengeSchema = z.object({
  challenge: z.string().describe('32-byte nonce, hex; sign "healthchain/v1/login" 0x00 ‖ len ‖ institution id ‖ nonce'),
  expiresAt: z.iso.datetime(),
  generation: z.int().min(0).max(MAX_KEY_GENERATION)
    .describe('the generation of the user\'s key in force on this node (0 until a rotation; also for a user not known here): derive its keys and sign with them')
})
export type ChallengeReply = z.infer<typeof challengeSchema>

export const apiKeyLoginSchema = z.strictObject({
  apiKey: z.string().min(1, { error: 'expected an API key' }).max(256, { error: 'expected an API key' })
    .describe('staff API key, hck_<id>_<secret>')
}).describe('staff login')

export const userLoginSchema = z.strictObject({
  userId: userIdSchema,
  challenge: z.string().regex(/^[0-9a-fA-F]{64}$/, { error: 'expected the 32-byte challenge in hex' }),
  signature: z.string().regex(/^[0-9a-fA-F]{128}$/, { error: 'expected a 64-byte Ed25519 signature in hex' })
}).describe('user login: a challenge signed with the user\'s key')

export const loginRequestSchema = z.union([apiKeyLoginSchema, userLoginSchema])

export const sessionSchema = z.object({
  token: z.string().describe('bearer token: send Authorization: Bearer <token>'),
  tokenType: z.literal('Bearer'),
  expiresAt: z.iso.datetime(),
  role: z.enum(['user', ...INSTITUTION_ROLES]),
  subject: z.string().describe('API key id (staff) or user id (users)')
})
export type SessionReply = z.infer<typeof sessionSchema>

// ---- GET /v1/audit

export const DEFAULT_AUDIT_PAGE = 100
export const MAX_AUDIT_PAGE = 1000

// Plain digits only, as the entries route takes positions: z.coerce would read `?start=` as 0 (and `0x10`, `1e3` as numbers) instead of refusing them.
const digits = (what: string) => z.string().regex(/^\d{1,15}$/, { error: `expected ${what} as a non-negative integer` }).transform(Number)

export const auditQuerySchema = z.strictObject({
  start: digits('the first position').optional().describe('first position; default: the last `limit` lines'),
  limit: digits('the number of lines').pipe(z.int().min(1).max(MAX_AUDIT_PAGE)).default(DEFAULT_AUDIT_PAGE)
})

export const auditLineViewSchema = z.object({
  seq: z.int(),
  time: z.string(),
  actor: z.string().describe('anonymous, governance, key:<api key id> or user:<user id>'),
  role: z.string().optional(),
  action: z.enum(AUDIT_ACTIONS),
  target: z.string().optional(),
  from: z.string().describe('the remote address of the request'),
  result: z.enum(AUDIT_RESULTS),
  code: z.string().optional().describe('the refusal\'s error code'),
  count: z.int().optional().describe('refusals alike from one source this line stands for, when more than its own'),
  since: z.string().optional().describe('with count: when the first of them happened (`time`: when they were written)')
})

export const auditReplySchema = z.object({ length: z.int(), lines: z.array(auditLineViewSchema) })
export type AuditReply = z.infer<typeof auditReplySchema>
