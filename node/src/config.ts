/**
 * The node's configuration: read once, at start-up, from one JSON file plus
 * environment overrides, validated, and passed down as a typed, frozen
 * object (nothing else reads the file or the environment).
 *
 * Flow: file → JSON → environment overrides applied onto the raw object →
 * zod strict schema (unknown fields refused) → relative paths resolved.
 * Every failure is a ConfigError whose `field` is the config path
 * (`api.port`) and whose message names the field, and the environment
 * variable when the value came from one:
 *
 *   api.port (from HEALTHCHAIN_API_PORT): expected an integer between 1 and 65535
 *
 * node/README.md documents every field, default and variable; keep the
 * table there and ENV_OVERRIDES below in step.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { INSTITUTION_ROLES, isInstitutionId, type InstitutionId, type InstitutionRole } from '@healthchain/core'
import {
  DEFAULT_IDS_IN_MEMORY, DEFAULT_WRITE_BUFFER_BYTES, MAX_IDS_IN_MEMORY, MAX_WRITE_BUFFER_BYTES, MIN_IDS_IN_MEMORY, MIN_WRITE_BUFFER_BYTES
} from '@healthchain/ledger'
import { DEFAULT_COSIGNATURES_IN_MEMORY, MAX_COSIGNATURES_IN_MEMORY, MIN_COSIGNATURES_IN_MEMORY } from '@healthchain/net'
import { z } from 'zod'
import { DEFAULT_BATCH_MAX_ITEMS } from './api/batch.js'
import { ConfigError } from './errors.js'
import type { IndexConfig } from './query-index/backend.js'
import { describeIssue, summariseIssues } from './zod-issues.js'

export const DEFAULT_API_HOST = '127.0.0.1'
export const DEFAULT_API_PORT = 8080
/** 1 MiB: an entry block is at most 128 KiB of CBOR, and its JSON form (hex, FHIR field names) a few times that. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024
/** A batch of the default 500 items: an exam is about 1-2 KB as JSON, a FHIR Observation up to a few KB. */
export const DEFAULT_BATCH_BODY_LIMIT = 16 * 1024 * 1024
export const DEFAULT_TOKEN_TTL_SECONDS = 15 * 60
export const DEFAULT_CHALLENGE_TTL_SECONDS = 2 * 60
/** An enrolment ticket lives as long as a patient needs to install and open the console at the desk, no longer. */
export const DEFAULT_ENROLMENT_TICKET_TTL_SECONDS = 15 * 60
/** Open tickets per node: far above what staff hand out in 15 minutes, and a bound on what a stolen staff key can fill memory with. */
export const DEFAULT_MAX_OPEN_ENROLMENT_TICKETS = 1000
export const DEFAULT_P2P_LISTEN: readonly string[] = ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws']
/**
 * Rate limits per source address (an IPv6 /64 counts as one), in windows of a minute. Logins and challenges: a client
 * needs one or two per token (15 min), so 600 leaves room for a portal logging in many users through one address,
 * while an outsider's guesses cost the node a signature check each and are bounded. Everything else: 30,000 (500 a
 * second) is beyond any interactive use and a third of what one node writes over HTTP (~1,600/s measured), so one
 * busy system cannot starve the others; bulk importers may raise it.
 */
export const DEFAULT_RATE_LIMIT_WINDOW_SECONDS = 60
export const DEFAULT_RATE_LIMIT_LOGINS = 600
export const DEFAULT_RATE_LIMIT_REQUESTS = 30_000
/**
 * Refusals of unauthenticated callers are counted per source, action and code in windows of a minute (the first of
 * each written on its own line), over at most 1,000 such groups a window: a flood from any number of addresses adds
 * about 2,000 lines (~400 KB) a minute, at most ~4,000 when refused user logins mix their reasons; one source a handful.
 */
export const DEFAULT_AUDIT_WINDOW_SECONDS = 60
export const DEFAULT_AUDIT_MAX_GROUPS = 1000
/** New libp2p connections a second from one host: libp2p's own default, which phone commands already respect. */
export const DEFAULT_P2P_INBOUND_CONNECTIONS_PER_SECOND = 5
/** Replicate every chain a peer announces (full nodes, regulators); false fetches only chains asked for. The network node's own default. */
export const DEFAULT_P2P_REPLICATE_ALL = true
/** A user's chain unused this long is closed (a node may hold millions; only those in use stay open); 0 never closes one. The network node's own default. */
export const DEFAULT_CHAIN_IDLE_MS = 60_000
/** At most this many worker threads for sealing or verifying: each holds a copy of the crypto library. */
export const MAX_WORKERS = 64
/** The metrics listener's host when `metrics` names only a port: loopback, so only the machine's own scraper (or a tunnel) reads it. */
export const DEFAULT_METRICS_HOST = '127.0.0.1'
/** Levels of the daemon's JSON log (pino's); `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]
export const DEFAULT_LOG_LEVEL: LogLevel = 'info'

/** A zod integer in [min, max] with one message for every way of missing it. */
function intBetween (min: number, max: number): z.ZodInt {
  const error = `expected an integer between ${min} and ${max}`
  return z.int({ error }).min(min, { error }).max(max, { error })
}

function parsesAsMultiaddr (value: string): boolean {
  try {
    multiaddr(value)
    return true
  } catch {
    return false
  }
}

const listenAddr = z.string({ error: 'expected a multiaddr string' })
  .refine(parsesAsMultiaddr, { error: 'expected a multiaddr such as /ip4/0.0.0.0/tcp/4001' })

const bootstrapAddr = z.string({ error: 'expected a multiaddr string' })
  .refine((value) => parsesAsMultiaddr(value) && multiaddr(value).getComponents().some((c) => c.name === 'p2p'), {
    error: 'expected a multiaddr ending in /p2p/<peer id>, such as /ip4/10.0.0.2/tcp/4001/p2p/12D3KooW…'
  })

export const configSchema = z.strictObject({
  /** The institution id this node runs as, as the registry lists it (also the login challenges' audience). */
  name: z.string({ error: 'expected an institution id' })
    .refine(isInstitutionId, { error: 'expected an institution id (a-z, 0-9, \'-\', 3-64 characters)' })
    .transform((v) => v as InstitutionId),
  role: z.enum(INSTITUTION_ROLES, { error: `expected one of ${INSTITUTION_ROLES.join(', ')}` }),
  dataDir: z.string({ error: 'expected a directory path' }).min(1, { error: 'expected a directory path' }),
  api: z.strictObject({
    host: z.string({ error: 'expected a host name or address' }).min(1, { error: 'expected a host name or address' }).default(DEFAULT_API_HOST),
    // 0: any free port (tests, and several nodes on one machine); the daemon reports the one bound.
    port: intBetween(0, 65535).default(DEFAULT_API_PORT),
    bodyLimit: intBetween(1024, 64 * 1024 * 1024).default(DEFAULT_BODY_LIMIT),
    batchMaxItems: intBetween(1, 10_000).default(DEFAULT_BATCH_MAX_ITEMS),
    batchBodyLimit: intBetween(1024, 256 * 1024 * 1024).default(DEFAULT_BATCH_BODY_LIMIT),
    rateLimit: z.strictObject({
      windowSeconds: intBetween(1, 60 * 60).default(DEFAULT_RATE_LIMIT_WINDOW_SECONDS),
      logins: intBetween(1, 1_000_000).default(DEFAULT_RATE_LIMIT_LOGINS),
      requests: intBetween(1, 100_000_000).default(DEFAULT_RATE_LIMIT_REQUESTS)
    }, { error: 'expected an object' }).prefault({})
  }, { error: 'expected an object' }).prefault({}),
  auth: z.strictObject({
    tokenTtlSeconds: intBetween(10, 24 * 60 * 60).default(DEFAULT_TOKEN_TTL_SECONDS),
    challengeTtlSeconds: intBetween(10, 10 * 60).default(DEFAULT_CHALLENGE_TTL_SECONDS),
    enrolmentTicketTtlSeconds: intBetween(1, 24 * 60 * 60).default(DEFAULT_ENROLMENT_TICKET_TTL_SECONDS),
    maxOpenEnrolmentTickets: intBetween(1, 1_000_000).default(DEFAULT_MAX_OPEN_ENROLMENT_TICKETS)
  }, { error: 'expected an object' }).prefault({}),
  audit: z.strictObject({
    windowSeconds: intBetween(1, 60 * 60).default(DEFAULT_AUDIT_WINDOW_SECONDS),
    maxGroups: intBetween(1, 1_000_000).default(DEFAULT_AUDIT_MAX_GROUPS)
  }, { error: 'expected an object' }).prefault({}),
  p2p: z.strictObject({
    listen: z.array(listenAddr, { error: 'expected an array of multiaddrs' }).default([...DEFAULT_P2P_LISTEN]),
    bootstrap: z.array(bootstrapAddr, { error: 'expected an array of multiaddrs' }).default([]),
    inboundConnectionsPerSecond: intBetween(1, 10_000).default(DEFAULT_P2P_INBOUND_CONNECTIONS_PER_SECOND),
    replicateAll: z.boolean({ error: 'expected true or false' }).default(DEFAULT_P2P_REPLICATE_ALL)
  }, { error: 'expected an object' }).prefault({}),
  console: z.strictObject({
    enabled: z.boolean({ error: 'expected true or false' }).default(true),
    // Absent: the dist folder of the console workspace (defaultConsoleDir).
    dir: z.string({ error: 'expected a directory path' }).min(1, { error: 'expected a directory path' }).optional()
  }, { error: 'expected an object' }).prefault({}),
  chainIdleMs: intBetween(0, 24 * 60 * 60 * 1000).default(DEFAULT_CHAIN_IDLE_MS),
  // Absent: no metrics listener. Its own address, never the API's: a second port is the operator's decision (firewall, container).
  metrics: z.strictObject({
    host: z.string({ error: 'expected a host name or address' }).min(1, { error: 'expected a host name or address' }).default(DEFAULT_METRICS_HOST),
    port: intBetween(0, 65535)
  }, { error: 'expected an object' }).optional(),
  logLevel: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default(DEFAULT_LOG_LEVEL),
  storage: z.strictObject({
    writeBufferBytes: intBetween(MIN_WRITE_BUFFER_BYTES, MAX_WRITE_BUFFER_BYTES).default(DEFAULT_WRITE_BUFFER_BYTES),
    // The rest are on disk (each chain's id index, the witness's record): these bound only what memory holds of them.
    idsInMemory: intBetween(MIN_IDS_IN_MEMORY, MAX_IDS_IN_MEMORY).default(DEFAULT_IDS_IN_MEMORY),
    cosignaturesInMemory: intBetween(MIN_COSIGNATURES_IN_MEMORY, MAX_COSIGNATURES_IN_MEMORY).default(DEFAULT_COSIGNATURES_IN_MEMORY)
  }, { error: 'expected an object' }).prefault({}),
  // Absent: one per core but one, at least one and at most four (the sealer's and the ledger's own default); 0 works on the event loop.
  sealWorkers: intBetween(0, MAX_WORKERS).optional(),
  verifyWorkers: intBetween(0, MAX_WORKERS).optional(),
  /** The registry's Hypercore key; absent on the node that creates the registry, or before joining. */
  registryKey: z.string({ error: 'expected 32 bytes of hex' })
    .regex(/^[0-9a-fA-F]{64}$/, { error: 'expected 32 bytes of hex' })
    .transform((v) => v.toLowerCase())
    .optional(),
  /** Where the query index lives: embedded SQLite in the data directory (default), or a PostgreSQL database with PostGIS. */
  index: z.strictObject({
    kind: z.enum(['sqlite', 'postgres'], { error: 'expected sqlite or postgres' }).default('sqlite'),
    url: z.string({ error: 'expected a postgres:// URL' })
      .regex(/^postgres(ql)?:\/\/./, { error: 'expected a postgres:// URL such as postgres://healthchain@db.example:5432/index' })
      .optional()
  }, { error: 'expected an object' }).prefault({})
    .refine((i) => i.kind === 'postgres' || i.url === undefined, { error: 'url: only with kind postgres', path: ['url'] })
    .refine((i) => i.kind === 'sqlite' || i.url !== undefined, { error: 'expected a postgres:// URL (kind postgres needs one)', path: ['url'] })
}, { error: 'expected a JSON object' })

type ParsedConfig = z.output<typeof configSchema>

export interface NodeConfig {
  readonly name: InstitutionId
  readonly role: InstitutionRole
  /** Absolute. */
  readonly dataDir: string
  readonly api: {
    readonly host: string
    readonly port: number
    readonly bodyLimit: number
    readonly rateLimit: RateLimitConfig
    /** Items one batch write or FHIR transaction Bundle may hold. */
    readonly batchMaxItems: number
    /** The largest body of a batch write or FHIR transaction Bundle, in bytes. */
    readonly batchBodyLimit: number
  }
  readonly auth: {
    readonly tokenTtlSeconds: number, readonly challengeTtlSeconds: number, readonly enrolmentTicketTtlSeconds: number, readonly maxOpenEnrolmentTickets: number
  }
  readonly audit: { readonly windowSeconds: number, readonly maxGroups: number }
  readonly p2p: {
    readonly listen: readonly string[], readonly bootstrap: readonly string[], readonly inboundConnectionsPerSecond: number, readonly replicateAll: boolean
  }
  /** The web console at `/`: whether it is served, and the folder of its built files (absolute). */
  readonly console: ConsoleConfig
  /** Milliseconds a chain may stay unused before it is closed; 0: never. */
  readonly chainIdleMs: number
  /**
   * The store's RocksDB: bytes of one memtable (at most four are held; see the ledger's checkedWriteBuffer); entry ids each
   * open chain keeps in memory for its duplicate check; cosignatures a witness keeps in memory (the rest of both on disk).
   */
  readonly storage: { readonly writeBufferBytes: number, readonly idsInMemory: number, readonly cosignaturesInMemory: number }
  /** Worker threads sealing examiners' exams (0: on the event loop); undefined: the sealer's default (defaultSealWorkers). */
  readonly sealWorkers: number | undefined
  /** Worker threads verifying replicated blocks (0: inline); undefined: the ledger's default (one per core but one, at most four). */
  readonly verifyWorkers: number | undefined
  readonly registryKey: string | undefined
  /** Where GET /metrics is served (Prometheus text format); undefined: nowhere. */
  readonly metrics: { readonly host: string, readonly port: number } | undefined
  /** The JSON log's level, when the daemon is given somewhere to log (`healthchain start`: stdout). */
  readonly logLevel: LogLevel
  readonly index: IndexConfig
}

/** Requests per source address in each window: `logins` for POST /v1/session and /v1/session/challenge, `requests` for the rest. */
export interface RateLimitConfig {
  readonly windowSeconds: number
  readonly logins: number
  readonly requests: number
}

export interface ConsoleConfig {
  readonly enabled: boolean
  /** Absolute: the folder holding index.html and assets/. */
  readonly dir: string
}

type EnvKind = 'string' | 'int' | 'list' | 'bool'

/** Environment variables that override config fields. */
export const ENV_OVERRIDES: ReadonlyArray<{ readonly variable: string, readonly path: readonly string[], readonly kind: EnvKind }> = [
  { variable: 'HEALTHCHAIN_NAME', path: ['name'], kind: 'string' },
  { variable: 'HEALTHCHAIN_ROLE', path: ['role'], kind: 'string' },
  { variable: 'HEALTHCHAIN_DATA_DIR', path: ['dataDir'], kind: 'string' },
  { variable: 'HEALTHCHAIN_API_HOST', path: ['api', 'host'], kind: 'string' },
  { variable: 'HEALTHCHAIN_API_PORT', path: ['api', 'port'], kind: 'int' },
  { variable: 'HEALTHCHAIN_API_BODY_LIMIT', path: ['api', 'bodyLimit'], kind: 'int' },
  { variable: 'HEALTHCHAIN_API_BATCH_MAX_ITEMS', path: ['api', 'batchMaxItems'], kind: 'int' },
  { variable: 'HEALTHCHAIN_API_BATCH_BODY_LIMIT', path: ['api', 'batchBodyLimit'], kind: 'int' },
  { variable: 'HEALTHCHAIN_RATE_LIMIT_WINDOW_SECONDS', path: ['api', 'rateLimit', 'windowSeconds'], kind: 'int' },
  { variable: 'HEALTHCHAIN_RATE_LIMIT_LOGINS', path: ['api', 'rateLimit', 'logins'], kind: 'int' },
  { variable: 'HEALTHCHAIN_RATE_LIMIT_REQUESTS', path: ['api', 'rateLimit', 'requests'], kind: 'int' },
  { variable: 'HEALTHCHAIN_TOKEN_TTL_SECONDS', path: ['auth', 'tokenTtlSeconds'], kind: 'int' },
  { variable: 'HEALTHCHAIN_CHALLENGE_TTL_SECONDS', path: ['auth', 'challengeTtlSeconds'], kind: 'int' },
  { variable: 'HEALTHCHAIN_ENROLMENT_TICKET_TTL_SECONDS', path: ['auth', 'enrolmentTicketTtlSeconds'], kind: 'int' },
  { variable: 'HEALTHCHAIN_MAX_OPEN_ENROLMENT_TICKETS', path: ['auth', 'maxOpenEnrolmentTickets'], kind: 'int' },
  { variable: 'HEALTHCHAIN_AUDIT_WINDOW_SECONDS', path: ['audit', 'windowSeconds'], kind: 'int' },
  { variable: 'HEALTHCHAIN_AUDIT_MAX_GROUPS', path: ['audit', 'maxGroups'], kind: 'int' },
  { variable: 'HEALTHCHAIN_P2P_LISTEN', path: ['p2p', 'listen'], kind: 'list' },
  { variable: 'HEALTHCHAIN_P2P_BOOTSTRAP', path: ['p2p', 'bootstrap'], kind: 'list' },
  { variable: 'HEALTHCHAIN_P2P_INBOUND_CONNECTIONS_PER_SECOND', path: ['p2p', 'inboundConnectionsPerSecond'], kind: 'int' },
  { variable: 'HEALTHCHAIN_P2P_REPLICATE_ALL', path: ['p2p', 'replicateAll'], kind: 'bool' },
  { variable: 'HEALTHCHAIN_CONSOLE_ENABLED', path: ['console', 'enabled'], kind: 'bool' },
  { variable: 'HEALTHCHAIN_CONSOLE_DIR', path: ['console', 'dir'], kind: 'string' },
  { variable: 'HEALTHCHAIN_CHAIN_IDLE_MS', path: ['chainIdleMs'], kind: 'int' },
  { variable: 'HEALTHCHAIN_STORAGE_WRITE_BUFFER_BYTES', path: ['storage', 'writeBufferBytes'], kind: 'int' },
  { variable: 'HEALTHCHAIN_STORAGE_IDS_IN_MEMORY', path: ['storage', 'idsInMemory'], kind: 'int' },
  { variable: 'HEALTHCHAIN_STORAGE_COSIGNATURES_IN_MEMORY', path: ['storage', 'cosignaturesInMemory'], kind: 'int' },
  { variable: 'HEALTHCHAIN_SEAL_WORKERS', path: ['sealWorkers'], kind: 'int' },
  { variable: 'HEALTHCHAIN_VERIFY_WORKERS', path: ['verifyWorkers'], kind: 'int' },
  { variable: 'HEALTHCHAIN_REGISTRY_KEY', path: ['registryKey'], kind: 'string' },
  { variable: 'HEALTHCHAIN_METRICS_HOST', path: ['metrics', 'host'], kind: 'string' },
  { variable: 'HEALTHCHAIN_METRICS_PORT', path: ['metrics', 'port'], kind: 'int' },
  { variable: 'HEALTHCHAIN_LOG_LEVEL', path: ['logLevel'], kind: 'string' },
  { variable: 'HEALTHCHAIN_INDEX_KIND', path: ['index', 'kind'], kind: 'string' },
  { variable: 'HEALTHCHAIN_INDEX_URL', path: ['index', 'url'], kind: 'string' }
]

export type Env = Readonly<Record<string, string | undefined>>

function envValue (raw: string, kind: EnvKind): unknown {
  switch (kind) {
    case 'string': return raw
    // Anything but plain digits stays a string, so the schema's message ("expected an integer …") applies.
    case 'int': return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw
    case 'list': return raw.split(',').map((s) => s.trim()).filter((s) => s !== '')
    // Only `true` and `false`: anything else stays a string, for the schema to refuse ("expected true or false").
    case 'bool': return raw.trim() === 'true' ? true : raw.trim() === 'false' ? false : raw
  }
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * A copy of `raw` with every set (non-empty) override applied; also the
 * variables applied, by config path, so errors can name them.
 */
function applyEnv (raw: unknown, env: Env): { value: unknown, sources: Map<string, string> } {
  const sources = new Map<string, string>()
  // Not an object: leave it for the schema to refuse ("expected a JSON object").
  if (!isPlainObject(raw)) return { value: raw, sources }
  const root: Record<string, unknown> = structuredClone(raw)
  for (const { variable, path, kind } of ENV_OVERRIDES) {
    const text = env[variable]
    if (text === undefined || text === '') continue
    let node = root
    for (const key of path.slice(0, -1)) {
      const child = node[key]
      if (child === undefined) node[key] = {}
      else if (!isPlainObject(child)) break // the schema will refuse the section itself
      node = node[key] as Record<string, unknown>
    }
    node[path[path.length - 1]!] = envValue(text, kind)
    sources.set(path.join('.'), variable)
  }
  return { value: root, sources }
}

export interface ParseConfigOptions {
  /** Environment overrides (default: none). */
  readonly env?: Env
  /** Directory a relative `dataDir` from the file is resolved against (the config file's directory). */
  readonly baseDir: string
}

/** Validates an already-parsed config value; see loadConfig. */
export function parseConfig (raw: unknown, opts: ParseConfigOptions): NodeConfig {
  const { value, sources } = applyEnv(raw, opts.env ?? {})
  const result = configSchema.safeParse(value)
  if (!result.success) {
    const summary = summariseIssues(result.error)
    const variable = sources.get(summary.field)
    const field = summary.field === '' ? '(config)' : summary.field
    const where = variable === undefined ? field : `${field} (from ${variable})`
    throw new ConfigError('CONFIG_INVALID', describeIssue({ field: where, message: summary.message }), { field: summary.field })
  }
  const consoleDir = result.data.console.dir === undefined
    ? defaultConsoleDir()
    : resolveConfigPath(result.data.console.dir, sources.has('console.dir'), opts.baseDir)
  return freeze(result.data, resolveConfigPath(result.data.dataDir, sources.has('dataDir'), opts.baseDir), consoleDir)
}

/**
 * Where the web console's built files are when the config does not say: the
 * `dist` folder of the `@healthchain/console` workspace, found the way Node
 * finds a package (the workspace's symlink in node_modules), so an installed
 * tree and the repository both work. No dependency on it is declared: the
 * node runs without a console. If it cannot be resolved (not installed yet,
 * or its exports hide package.json), the folder it has in this repository.
 */
export function defaultConsoleDir (): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@healthchain/console/package.json')), 'dist')
  } catch {
    return fileURLToPath(new URL('../../console/dist', import.meta.url))
  }
}

/**
 * A relative `dataDir` or `console.dir` is resolved against the config
 * file's directory (so a config and its data can move together); one from
 * the environment (HEALTHCHAIN_DATA_DIR, HEALTHCHAIN_CONSOLE_DIR) against the
 * working directory, as a shell user expects.
 */
function resolveConfigPath (path: string, fromEnv: boolean, baseDir: string): string {
  if (isAbsolute(path)) return resolve(path)
  return fromEnv ? resolve(path) : resolve(baseDir, path)
}

function freeze (c: ParsedConfig, dataDir: string, consoleDir: string): NodeConfig {
  return Object.freeze({
    name: c.name,
    role: c.role,
    dataDir,
    api: Object.freeze({ ...c.api, rateLimit: Object.freeze({ ...c.api.rateLimit }) }),
    auth: Object.freeze({ ...c.auth }),
    audit: Object.freeze({ ...c.audit }),
    p2p: Object.freeze({
      listen: Object.freeze([...c.p2p.listen]),
      bootstrap: Object.freeze([...c.p2p.bootstrap]),
      inboundConnectionsPerSecond: c.p2p.inboundConnectionsPerSecond,
      replicateAll: c.p2p.replicateAll
    }),
    console: Object.freeze({ enabled: c.console.enabled, dir: consoleDir }),
    chainIdleMs: c.chainIdleMs,
    storage: Object.freeze({ ...c.storage }),
    sealWorkers: c.sealWorkers,
    verifyWorkers: c.verifyWorkers,
    registryKey: c.registryKey,
    metrics: c.metrics === undefined ? undefined : Object.freeze({ ...c.metrics }),
    logLevel: c.logLevel,
    index: Object.freeze(c.index.kind === 'postgres' ? { kind: 'postgres', url: c.index.url! } : { kind: 'sqlite' })
  })
}

/**
 * Reads the config file at `path` (JSON), applies the environment overrides
 * in `env` and validates the result. Throws ConfigError: CONFIG_FILE (cannot
 * read), CONFIG_MALFORMED (not JSON), CONFIG_INVALID (names the field).
 */
export async function loadConfig (path: string, env: Env = process.env): Promise<NodeConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (cause) {
    throw new ConfigError('CONFIG_FILE', `config file ${path} cannot be read`, { cause })
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (cause) {
    // JSON.parse's message says where, not what: it carries no value from the file worth hiding.
    throw new ConfigError('CONFIG_MALFORMED', `config file ${path} is not valid JSON (${(cause as Error).message})`, { cause })
  }
  return parseConfig(raw, { env, baseDir: dirname(resolve(path)) })
}
