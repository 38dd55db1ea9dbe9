/**
 * Staff API keys. The CLI creates them; the daemon verifies them at login.
 *
 * A key is `hck_<id>_<secret>`: `id` is 8 random bytes in hex (16
 * characters, not secret: it names the key in listings and in the audit
 * log), `secret` 32 random bytes in base64url (43 characters). The secret is
 * shown once, at creation; the store keeps only
 *
 *   SHA-256("healthchain/v1/api-key" 0x00 ‖ id ‖ secret bytes)
 *
 * A plain hash suffices because the secret has 256 bits of entropy (nothing
 * to brute-force, so no slow password hash); the domain tag and the id bind
 * each hash to its own record, and hashes are compared in constant time.
 *
 * Persistence: one JSON file, owner-only (0600 in 0700), rewritten
 * atomically on every change. The CLI and a running daemon are different
 * processes, so the store re-reads the file whenever it changed on disk
 * before answering: a key the CLI creates or revokes takes effect at the
 * daemon's next login or request, without a restart. Every mutation re-reads
 * first too, so the CLI and the daemon do not undo each other's changes
 * (a lost update needs two writes in the same few milliseconds).
 *
 * Each key is bound to a role (the institution's role, from the config);
 * the session layer refuses a key whose role is not the node's.
 */
import { randomBytes } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { sha256 } from '@noble/hashes/sha2.js'
import { base64urlnopad } from '@scure/base'
import {
  bytesToHex, concatBytes, domainTag, equal, fromHex, INSTITUTION_ROLES, utf8ToBytes, type InstitutionRole
} from '@healthchain/core'
import { z } from 'zod'
import { NodeError } from '../errors.js'
import { readSecretFile, writeSecretFile } from '../secret-file.js'

export const API_KEY_PREFIX = 'hck_'
const API_KEY_PATTERN = /^hck_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/
/** Enough to find the id of a key whose secret part is malformed, for the audit log. */
const API_KEY_ID_PATTERN = /^hck_([0-9a-f]{16})_/
const API_KEY_HASH_DOMAIN = domainTag('healthchain/v1/api-key')
const SECRET_BYTES = 32
export const MAX_LABEL_LENGTH = 100

export interface ApiKeyRecord {
  readonly id: string
  readonly label: string
  readonly role: InstitutionRole
  /** ISO 8601. */
  readonly createdAt: string
  /** ISO 8601; absent while the key is active. */
  readonly revokedAt?: string
}

/** Who a verified key belongs to. */
export interface ApiKeyIdentity {
  readonly id: string
  readonly label: string
  readonly role: InstitutionRole
}

export interface CreatedApiKey {
  readonly record: ApiKeyRecord
  /** The whole key, `hck_<id>_<secret>`: shown to the operator once, never stored. */
  readonly apiKey: string
}

/** One line of text: labels are shown in listings, one key per line. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point: a label must not hold any
const labelSchema = z.string().min(1).max(MAX_LABEL_LENGTH).regex(/^[^\u0000-\u001f\u007f]*$/, { error: 'expected one line of text' })

const storedKeySchema = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{16}$/),
  label: labelSchema,
  role: z.enum(INSTITUTION_ROLES),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().optional()
})
type StoredKey = z.infer<typeof storedKeySchema>

const fileSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('api-keys'),
  keys: z.array(storedKeySchema)
})

function hashOf (id: string, secret: Uint8Array): Uint8Array {
  return sha256(concatBytes(API_KEY_HASH_DOMAIN, utf8ToBytes(id), secret))
}

function recordOf (key: StoredKey): ApiKeyRecord {
  const { hash: _hash, ...record } = key
  return Object.freeze(record)
}

/** The id part of something shaped like an API key (for the audit log), or undefined. Never returns the secret. */
export function apiKeyIdOf (apiKey: string): string | undefined {
  return API_KEY_ID_PATTERN.exec(apiKey)?.[1]
}

export interface ApiKeyStoreOptions {
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number
}

/** What identifies one version of the file on disk. */
type FileStamp = string

export class ApiKeyStore {
  readonly path: string
  private readonly now: () => number
  private keys = new Map<string, StoredKey>()
  private stamp: FileStamp | undefined
  /** Mutations one at a time (each is re-read, change, write). */
  private queue: Promise<unknown> = Promise.resolve()
  /** Bumped by every change made here, so a read that started before it cannot bring back the old keys. */
  private generation = 0
  /** The file check under way, shared by the requests that arrive meanwhile. */
  private checking: Promise<void> | undefined

  private constructor (path: string, opts: ApiKeyStoreOptions) {
    this.path = path
    this.now = opts.now ?? Date.now
  }

  /** Opens the store at `path` (an absent file is an empty store; it is created at the first change). */
  static async open (path: string, opts: ApiKeyStoreOptions = {}): Promise<ApiKeyStore> {
    const store = new ApiKeyStore(path, opts)
    await store.refresh()
    return store
  }

  private async currentStamp (): Promise<FileStamp | undefined> {
    try {
      const info = await stat(this.path, { bigint: true })
      return `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new NodeError('DATA_FILE', `${this.path} cannot be read`, { cause })
    }
  }

  /**
   * refresh() for the per-request check: requests that arrive while a check
   * of the file is under way share it (one stat for a burst of requests,
   * not one each). A revocation by another process is therefore seen from
   * the first check that starts after it — within a stat's time.
   */
  private checkFile (): Promise<void> {
    this.checking ??= this.refresh().finally(() => { this.checking = undefined })
    return this.checking
  }

  /** Re-reads the file if it changed on disk since it was last read. */
  async refresh (): Promise<void> {
    const generation = this.generation
    const stamp = await this.currentStamp()
    if (stamp !== undefined && stamp === this.stamp) return
    const text = await readSecretFile(this.path)
    if (generation !== this.generation) return // changed here meanwhile: memory is newer than what was read
    if (text === undefined) {
      this.keys = new Map()
      this.stamp = undefined
      return
    }
    let parsed
    try {
      parsed = fileSchema.parse(JSON.parse(text))
    } catch (cause) {
      throw new NodeError('DATA_FILE', `${this.path} is not a version 1 api-keys file`, { cause })
    }
    this.keys = new Map(parsed.keys.map((k) => [k.id, k]))
    this.stamp = stamp
  }

  /**
   * Re-reads, applies `change` to a copy of the keys, writes the copy, and
   * only then makes it current: a failed write leaves memory as the file is.
   */
  private mutate<T> (change: (keys: Map<string, StoredKey>) => T): Promise<T> {
    const run = this.queue.then(async () => {
      await this.refresh()
      const next = new Map(this.keys)
      const result = change(next)
      const file = { v: 1, kind: 'api-keys', keys: [...next.values()] }
      await writeSecretFile(this.path, JSON.stringify(file, null, 2) + '\n')
      this.generation++
      this.keys = next
      this.stamp = await this.currentStamp()
      return result
    })
    this.queue = run.catch(() => {})
    return run
  }

  /** Creates a key for `role`; the returned `apiKey` is the only copy of its secret. */
  async create (label: string, role: InstitutionRole): Promise<CreatedApiKey> {
    const checkedLabel = labelSchema.safeParse(label)
    if (!checkedLabel.success) throw new NodeError('BAD_REQUEST', `label: expected 1-${MAX_LABEL_LENGTH} characters of text`, { field: 'label' })
    if (!(INSTITUTION_ROLES as readonly string[]).includes(role)) {
      throw new NodeError('BAD_REQUEST', `role: expected one of ${INSTITUTION_ROLES.join(', ')}`, { field: 'role' })
    }
    return await this.mutate((keys) => {
      let id: string
      do id = bytesToHex(randomBytes(8)); while (keys.has(id))
      const secret = new Uint8Array(randomBytes(SECRET_BYTES))
      const stored: StoredKey = {
        id, label: checkedLabel.data, role, hash: bytesToHex(hashOf(id, secret)), createdAt: new Date(this.now()).toISOString()
      }
      keys.set(id, stored)
      return { record: recordOf(stored), apiKey: `${API_KEY_PREFIX}${id}_${base64urlnopad.encode(secret)}` }
    })
  }

  /** All keys, active and revoked, oldest first; never a secret or a hash. */
  async list (): Promise<ApiKeyRecord[]> {
    await this.refresh()
    return [...this.keys.values()].map(recordOf)
  }

  /** Revokes a key (revoking a revoked key changes nothing); UNKNOWN_KEY if there is none with this id. */
  async revoke (id: string): Promise<ApiKeyRecord> {
    return await this.mutate((keys) => {
      const key = keys.get(id)
      if (key === undefined) throw new NodeError('UNKNOWN_KEY', `no API key has id ${id.slice(0, 16)}`)
      if (key.revokedAt !== undefined) return recordOf(key)
      const revoked: StoredKey = { ...key, revokedAt: new Date(this.now()).toISOString() }
      keys.set(id, revoked)
      return recordOf(revoked)
    })
  }

  /**
   * The identity of an API key, or a refusal: MALFORMED_KEY (not the
   * `hck_<id>_<secret>` shape), UNKNOWN_KEY (no such id, or the secret does
   * not match), REVOKED_KEY (right secret, revoked key). A wrong secret for a
   * revoked key is UNKNOWN_KEY: only the key's holder learns it was revoked.
   */
  async verify (apiKey: string): Promise<ApiKeyIdentity> {
    const match = typeof apiKey === 'string' ? API_KEY_PATTERN.exec(apiKey) : null
    if (match === null) throw new NodeError('MALFORMED_KEY', 'expected an API key of the form hck_<id>_<secret>')
    const [, id, secretText] = match as unknown as [string, string, string]
    let secret: Uint8Array
    try {
      secret = base64urlnopad.decode(secretText)
    } catch {
      // 43 base64url characters whose last one has bits set past the 32 bytes.
      throw new NodeError('MALFORMED_KEY', 'expected an API key of the form hck_<id>_<secret>')
    }
    await this.refresh()
    const key = this.keys.get(id)
    if (key === undefined || !equal(hashOf(id, secret), fromHex(key.hash, 32, 'hash'))) {
      // One message for both: whoever holds only an id must not learn whether this node issued it.
      throw new NodeError('UNKNOWN_KEY', `API key ${id}: the secret does not match (or the key is not from this node)`)
    }
    if (key.revokedAt !== undefined) throw new NodeError('REVOKED_KEY', `API key ${id} was revoked`)
    return { id: key.id, label: key.label, role: key.role }
  }

  /** Whether the key with this id exists and is not revoked (re-read from disk if it changed). */
  async isActive (id: string): Promise<boolean> {
    await this.checkFile()
    const key = this.keys.get(id)
    return key !== undefined && key.revokedAt === undefined
  }
}
