/**
 * Config: defaults, every error naming its field (and the environment
 * variable it came from), environment overrides, path resolution, and the
 * owner-only data directory.
 */
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError, defaultConsoleDir, loadConfig, parseConfig, prepareDataDir, type Env } from '../src/index.js'
import { makeTempDir, removeDir } from './helpers/fixtures.js'

const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
const minimal = { name: 'hospital-a', role: 'examiner', dataDir: '/var/lib/healthchain' }

function configError (raw: unknown, env: Env = {}): ConfigError {
  try {
    parseConfig(raw, { env, baseDir: '/etc/healthchain' })
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('config schema', () => {
  it('fills in the documented defaults', () => {
    const config = parseConfig(minimal, { baseDir: '/etc/healthchain' })
    expect(config).toEqual({
      name: 'hospital-a',
      role: 'examiner',
      dataDir: '/var/lib/healthchain',
      api: {
        host: '127.0.0.1', port: 8080, bodyLimit: 1024 * 1024, batchMaxItems: 500, batchBodyLimit: 16 * 1024 * 1024, rateLimit: { windowSeconds: 60, logins: 600, requests: 30_000 }
      },
      auth: { tokenTtlSeconds: 900, challengeTtlSeconds: 120, enrolmentTicketTtlSeconds: 900, maxOpenEnrolmentTickets: 1000 },
      audit: { windowSeconds: 60, maxGroups: 1000 },
      p2p: { listen: ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws'], bootstrap: [], inboundConnectionsPerSecond: 5, replicateAll: true },
      console: { enabled: true, dir: defaultConsoleDir() },
      chainIdleMs: 60_000,
      storage: { writeBufferBytes: 16 * 1024 * 1024, idsInMemory: 4096, cosignaturesInMemory: 10_000 },
      sealWorkers: undefined,
      verifyWorkers: undefined,
      registryKey: undefined,
      metrics: undefined,
      logLevel: 'info',
      index: { kind: 'sqlite' }
    })
    expect(Object.isFrozen(config) && Object.isFrozen(config.api) && Object.isFrozen(config.api.rateLimit) && Object.isFrozen(config.audit)).toBe(true)
  })

  it('takes every field', () => {
    const key = 'AB'.repeat(32)
    const config = parseConfig({
      ...minimal,
      role: 'regulator',
      api: { host: '0.0.0.0', port: 9443, bodyLimit: 4096, batchMaxItems: 9, batchBodyLimit: 8192, rateLimit: { windowSeconds: 10, logins: 20, requests: 500 } },
      auth: { tokenTtlSeconds: 60, challengeTtlSeconds: 30, enrolmentTicketTtlSeconds: 5, maxOpenEnrolmentTickets: 7 },
      audit: { windowSeconds: 300, maxGroups: 50 },
      p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [`/ip4/10.0.0.2/tcp/4001/p2p/${PEER}`], inboundConnectionsPerSecond: 20, replicateAll: false },
      console: { enabled: false, dir: 'console' },
      chainIdleMs: 0,
      storage: { writeBufferBytes: 4 * 1024 * 1024, idsInMemory: 1000, cosignaturesInMemory: 50 },
      sealWorkers: 0,
      verifyWorkers: 2,
      registryKey: key
    }, { baseDir: '/' })
    expect(config.api).toEqual({
      host: '0.0.0.0', port: 9443, bodyLimit: 4096, batchMaxItems: 9, batchBodyLimit: 8192, rateLimit: { windowSeconds: 10, logins: 20, requests: 500 }
    })
    expect(config.auth).toEqual({ tokenTtlSeconds: 60, challengeTtlSeconds: 30, enrolmentTicketTtlSeconds: 5, maxOpenEnrolmentTickets: 7 })
    expect(config.audit).toEqual({ windowSeconds: 300, maxGroups: 50 })
    expect(config.console).toEqual({ enabled: false, dir: '/console' })
    expect(config.p2p.bootstrap).toEqual([`/ip4/10.0.0.2/tcp/4001/p2p/${PEER}`])
    expect(config.p2p.inboundConnectionsPerSecond).toBe(20)
    expect(config.p2p.replicateAll).toBe(false)
    expect(config.chainIdleMs).toBe(0)
    expect(config.storage).toEqual({ writeBufferBytes: 4 * 1024 * 1024, idsInMemory: 1000, cosignaturesInMemory: 50 })
    expect(config.sealWorkers).toBe(0)
    expect(config.verifyWorkers).toBe(2)
    expect(config.registryKey).toBe(key.toLowerCase())
  })

  const cases: Array<[string, unknown, string, string]> = [
    ['port out of range', { ...minimal, api: { port: 65536 } }, 'api.port', 'api.port: expected an integer between 0 and 65535'],
    ['port not an integer', { ...minimal, api: { port: 80.5 } }, 'api.port', 'api.port: expected an integer between 0 and 65535'],
    ['port a string', { ...minimal, api: { port: '8080' } }, 'api.port', 'api.port: expected an integer between 0 and 65535'],
    ['missing name', { role: 'examiner', dataDir: '/d' }, 'name', 'name: expected an institution id'],
    ['bad name', { ...minimal, name: 'Hospital A' }, 'name', 'name: expected an institution id (a-z, 0-9, \'-\', 3-64 characters)'],
    ['bad role', { ...minimal, role: 'user' }, 'role', 'role: expected one of examiner, inquirer, regulator'],
    ['empty dataDir', { ...minimal, dataDir: '' }, 'dataDir', 'dataDir: expected a directory path'],
    ['unknown top-level field', { ...minimal, colour: 'blue' }, 'colour', 'colour: unknown field'],
    ['unknown nested field', { ...minimal, api: { prot: 1 } }, 'api.prot', 'api.prot: unknown field'],
    ['section not an object', { ...minimal, api: 8080 }, 'api', 'api: expected an object'],
    ['body limit too small', { ...minimal, api: { bodyLimit: 10 } }, 'api.bodyLimit', 'api.bodyLimit: expected an integer between 1024 and 67108864'],
    ['token TTL too long', { ...minimal, auth: { tokenTtlSeconds: 999_999 } }, 'auth.tokenTtlSeconds', 'auth.tokenTtlSeconds: expected an integer between 10 and 86400'],
    ['no logins allowed', { ...minimal, api: { rateLimit: { logins: 0 } } }, 'api.rateLimit.logins', 'api.rateLimit.logins: expected an integer between 1 and 1000000'],
    ['a rate-limit window over an hour', { ...minimal, api: { rateLimit: { windowSeconds: 3601 } } }, 'api.rateLimit.windowSeconds', 'api.rateLimit.windowSeconds: expected an integer between 1 and 3600'],
    ['unknown rate-limit field', { ...minimal, api: { rateLimit: { burst: 5 } } }, 'api.rateLimit.burst', 'api.rateLimit.burst: unknown field'],
    ['no audit groups', { ...minimal, audit: { maxGroups: 0 } }, 'audit.maxGroups', 'audit.maxGroups: expected an integer between 1 and 1000000'],
    ['inbound connections not a number', { ...minimal, p2p: { inboundConnectionsPerSecond: 'many' } }, 'p2p.inboundConnectionsPerSecond', 'p2p.inboundConnectionsPerSecond: expected an integer between 1 and 10000'],
    ['listen not a multiaddr', { ...minimal, p2p: { listen: ['tcp://0.0.0.0:4001'] } }, 'p2p.listen.0', 'p2p.listen.0: expected a multiaddr such as /ip4/0.0.0.0/tcp/4001'],
    ['bootstrap without a peer id', { ...minimal, p2p: { bootstrap: ['/ip4/10.0.0.2/tcp/4001'] } }, 'p2p.bootstrap.0', 'p2p.bootstrap.0: expected a multiaddr ending in /p2p/<peer id>, such as /ip4/10.0.0.2/tcp/4001/p2p/12D3KooW…'],
    ['replicateAll not a boolean', { ...minimal, p2p: { replicateAll: 'yes' } }, 'p2p.replicateAll', 'p2p.replicateAll: expected true or false'],
    ['a negative chain idle time', { ...minimal, chainIdleMs: -1 }, 'chainIdleMs', 'chainIdleMs: expected an integer between 0 and 86400000'],
    ['a chain idle time over a day', { ...minimal, chainIdleMs: 86_400_001 }, 'chainIdleMs', 'chainIdleMs: expected an integer between 0 and 86400000'],
    ['a memtable under 1 MiB', { ...minimal, storage: { writeBufferBytes: 1000 } }, 'storage.writeBufferBytes', 'storage.writeBufferBytes: expected an integer between 1048576 and 1073741824'],
    ['fewer ids in memory than one batch of appends', { ...minimal, storage: { idsInMemory: 100 } }, 'storage.idsInMemory',
      'storage.idsInMemory: expected an integer between 256 and 10000000'],
    ['no cosignatures in memory', { ...minimal, storage: { cosignaturesInMemory: 0 } }, 'storage.cosignaturesInMemory',
      'storage.cosignaturesInMemory: expected an integer between 16 and 10000000'],
    ['unknown storage field', { ...minimal, storage: { blockCacheBytes: 5 } }, 'storage.blockCacheBytes', 'storage.blockCacheBytes: unknown field'],
    ['seal workers not an integer', { ...minimal, sealWorkers: 1.5 }, 'sealWorkers', 'sealWorkers: expected an integer between 0 and 64'],
    ['too many verify workers', { ...minimal, verifyWorkers: 65 }, 'verifyWorkers', 'verifyWorkers: expected an integer between 0 and 64'],
    ['registry key too short', { ...minimal, registryKey: 'abcd' }, 'registryKey', 'registryKey: expected 32 bytes of hex'],
    ['not an object', ['a'], '', '(config): expected a JSON object']
  ]
  for (const [name, raw, field, message] of cases) {
    it(`refuses ${name}, naming the field`, () => {
      const err = configError(raw)
      expect(err.code).toBe('CONFIG_INVALID')
      expect(err.field).toBe(field)
      expect(err.message).toBe(message)
    })
  }
})

describe('environment overrides', () => {
  it('override file values, and fill absent sections', () => {
    const config = parseConfig({ ...minimal, api: { port: 8080 } }, {
      baseDir: '/etc/healthchain',
      env: {
        HEALTHCHAIN_NAME: 'hospital-b',
        HEALTHCHAIN_ROLE: 'inquirer',
        HEALTHCHAIN_API_HOST: '0.0.0.0',
        HEALTHCHAIN_API_PORT: '9090',
        HEALTHCHAIN_API_BODY_LIMIT: '2048',
        HEALTHCHAIN_API_BATCH_MAX_ITEMS: '50',
        HEALTHCHAIN_API_BATCH_BODY_LIMIT: '4096',
        HEALTHCHAIN_TOKEN_TTL_SECONDS: '60',
        HEALTHCHAIN_CHALLENGE_TTL_SECONDS: '30',
        HEALTHCHAIN_RATE_LIMIT_WINDOW_SECONDS: '30',
        HEALTHCHAIN_RATE_LIMIT_LOGINS: '100',
        HEALTHCHAIN_RATE_LIMIT_REQUESTS: '1000',
        HEALTHCHAIN_AUDIT_WINDOW_SECONDS: '120',
        HEALTHCHAIN_AUDIT_MAX_GROUPS: '200',
        HEALTHCHAIN_P2P_LISTEN: '/ip4/127.0.0.1/tcp/5001, /ip4/127.0.0.1/tcp/5002/ws',
        HEALTHCHAIN_P2P_BOOTSTRAP: `/ip4/10.0.0.2/tcp/4001/p2p/${PEER}`,
        HEALTHCHAIN_P2P_INBOUND_CONNECTIONS_PER_SECOND: '10',
        HEALTHCHAIN_P2P_REPLICATE_ALL: 'false',
        HEALTHCHAIN_CHAIN_IDLE_MS: '5000',
        HEALTHCHAIN_STORAGE_WRITE_BUFFER_BYTES: '2097152',
        HEALTHCHAIN_STORAGE_IDS_IN_MEMORY: '512',
        HEALTHCHAIN_STORAGE_COSIGNATURES_IN_MEMORY: '64',
        HEALTHCHAIN_SEAL_WORKERS: '0',
        HEALTHCHAIN_VERIFY_WORKERS: '3',
        HEALTHCHAIN_REGISTRY_KEY: 'cd'.repeat(32)
      }
    })
    expect(config).toMatchObject({
      name: 'hospital-b',
      role: 'inquirer',
      api: { host: '0.0.0.0', port: 9090, bodyLimit: 2048, batchMaxItems: 50, batchBodyLimit: 4096, rateLimit: { windowSeconds: 30, logins: 100, requests: 1000 } },
      auth: { tokenTtlSeconds: 60, challengeTtlSeconds: 30 },
      audit: { windowSeconds: 120, maxGroups: 200 },
      p2p: {
        listen: ['/ip4/127.0.0.1/tcp/5001', '/ip4/127.0.0.1/tcp/5002/ws'],
        bootstrap: [`/ip4/10.0.0.2/tcp/4001/p2p/${PEER}`],
        inboundConnectionsPerSecond: 10,
        replicateAll: false
      },
      chainIdleMs: 5000,
      storage: { writeBufferBytes: 2 * 1024 * 1024, idsInMemory: 512, cosignaturesInMemory: 64 },
      sealWorkers: 0,
      verifyWorkers: 3,
      registryKey: 'cd'.repeat(32)
    })
  })

  it('name the variable when its value is invalid', () => {
    const err = configError(minimal, { HEALTHCHAIN_API_PORT: 'eighty' })
    expect(err.code).toBe('CONFIG_INVALID')
    expect(err.field).toBe('api.port')
    expect(err.message).toBe('api.port (from HEALTHCHAIN_API_PORT): expected an integer between 0 and 65535')
    expect(configError(minimal, { HEALTHCHAIN_API_PORT: '70000' }).message).toContain('HEALTHCHAIN_API_PORT')
    expect(configError(minimal, { HEALTHCHAIN_ROLE: 'god' }).message).toBe('role (from HEALTHCHAIN_ROLE): expected one of examiner, inquirer, regulator')
    expect(configError(minimal, { HEALTHCHAIN_P2P_BOOTSTRAP: '/ip4/1.2.3.4/tcp/1' }).field).toBe('p2p.bootstrap.0')
    expect(configError(minimal, { HEALTHCHAIN_P2P_REPLICATE_ALL: 'yes' }).message).toBe('p2p.replicateAll (from HEALTHCHAIN_P2P_REPLICATE_ALL): expected true or false')
    expect(configError(minimal, { HEALTHCHAIN_SEAL_WORKERS: 'many' }).field).toBe('sealWorkers')
    expect(configError(minimal, { HEALTHCHAIN_CHAIN_IDLE_MS: '-5' }).message).toBe('chainIdleMs (from HEALTHCHAIN_CHAIN_IDLE_MS): expected an integer between 0 and 86400000')
    expect(configError(minimal, { HEALTHCHAIN_VERIFY_WORKERS: '99' }).message).toBe('verifyWorkers (from HEALTHCHAIN_VERIFY_WORKERS): expected an integer between 0 and 64')
    expect(configError(minimal, { HEALTHCHAIN_RATE_LIMIT_LOGINS: '0' }).message).toBe('api.rateLimit.logins (from HEALTHCHAIN_RATE_LIMIT_LOGINS): expected an integer between 1 and 1000000')
  })

  it('ignore empty and unrelated variables', () => {
    const config = parseConfig(minimal, { baseDir: '/', env: { HEALTHCHAIN_API_PORT: '', HOME: '/home/someone', HEALTHCHAIN_UNKNOWN: 'x' } })
    expect(config.api.port).toBe(8080)
  })

  it('resolve a relative dataDir against the config file (file) or the working directory (environment)', () => {
    expect(parseConfig({ ...minimal, dataDir: 'data' }, { baseDir: '/etc/healthchain' }).dataDir).toBe('/etc/healthchain/data')
    expect(parseConfig(minimal, { baseDir: '/etc/healthchain', env: { HEALTHCHAIN_DATA_DIR: 'here' } }).dataDir).toBe(resolve('here'))
  })
})

describe('query index setting', () => {
  it('is SQLite by default, PostgreSQL with a postgres:// URL from the file or the environment', () => {
    const url = 'postgres://healthchain@db.example:5432/index'
    expect(parseConfig({ ...minimal, index: { kind: 'postgres', url } }, { baseDir: '/' }).index).toEqual({ kind: 'postgres', url })
    const fromEnv = parseConfig(minimal, { baseDir: '/', env: { HEALTHCHAIN_INDEX_KIND: 'postgres', HEALTHCHAIN_INDEX_URL: url } })
    expect(fromEnv.index).toEqual({ kind: 'postgres', url })
    expect(Object.isFrozen(fromEnv.index)).toBe(true)
  })

  it('refuses another kind, postgres without a URL, a URL that is not postgres://, and a URL with sqlite, naming the field', () => {
    expect(configError({ ...minimal, index: { kind: 'mysql' } }).message).toBe('index.kind: expected sqlite or postgres')
    expect(configError({ ...minimal, index: { kind: 'postgres' } })).toMatchObject({ code: 'CONFIG_INVALID', field: 'index.url' })
    const http = configError(minimal, { HEALTHCHAIN_INDEX_KIND: 'postgres', HEALTHCHAIN_INDEX_URL: 'http://db/index' })
    expect(http.field).toBe('index.url')
    expect(http.message).toContain('HEALTHCHAIN_INDEX_URL')
    expect(configError({ ...minimal, index: { url: 'postgres://db/index' } }).field).toBe('index.url')
    expect(configError({ ...minimal, index: { kind: 'sqlite', path: 'x' } }).field).toBe('index.path')
  })
})

describe('loadConfig', () => {
  let dir: string
  beforeEach(async () => { dir = await makeTempDir() })
  afterEach(async () => { await removeDir(dir) })

  it('reads the file, applies the environment, resolves paths against the file', async () => {
    const path = join(dir, 'node.json')
    await writeFile(path, JSON.stringify({ ...minimal, dataDir: './data' }))
    const config = await loadConfig(path, { HEALTHCHAIN_API_PORT: '7001' })
    expect(config.dataDir).toBe(join(dir, 'data'))
    expect(config.api.port).toBe(7001)
  })

  it('CONFIG_FILE for a missing file, CONFIG_MALFORMED for text that is not JSON', async () => {
    await expect(loadConfig(join(dir, 'absent.json'), {})).rejects.toMatchObject({ code: 'CONFIG_FILE' })
    const path = join(dir, 'bad.json')
    await writeFile(path, '{ "name": ')
    await expect(loadConfig(path, {})).rejects.toMatchObject({ code: 'CONFIG_MALFORMED' })
  })
})

describe('data directory', () => {
  let dir: string
  beforeEach(async () => { dir = await makeTempDir() })
  afterEach(async () => { await removeDir(dir) })

  it('is created owner-only with its layout, and an existing loose directory is tightened', async () => {
    const root = join(dir, 'data')
    await mkdir(join(root, 'keys'), { recursive: true })
    await chmod(join(root, 'keys'), 0o755)
    const layout = await prepareDataDir(root)
    expect(layout).toEqual({
      root, keys: join(root, 'keys'), store: join(root, 'store'), index: join(root, 'index'), apiKeysFile: join(root, 'keys', 'api-keys.json')
    })
    for (const path of [layout.root, layout.keys, layout.store, layout.index]) {
      expect(((await stat(path)).mode & 0o777).toString(8)).toBe('700')
    }
  })
})

describe('config.example.json', () => {
  it('is a valid config with every field', async () => {
    const config = await loadConfig(fileURLToPath(new URL('../config.example.json', import.meta.url)), {})
    expect(config.name).toBe('hospital-a')
    expect(config.dataDir).toBe(join(fileURLToPath(new URL('..', import.meta.url)), 'data'))
    expect(config.registryKey).toMatch(/^[0-9a-f]{64}$/)
  })
})
