/**
 * The `healthchain` command line, offline commands, run in this process
 * (runCli) against real data directories and Corestores in a temporary
 * directory: help and usage errors, node keys, consortium, admission,
 * suspension, API keys, new users, offline verification. The commands that
 * talk to a running node are in cli-network.test.ts.
 */
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import {
  buildGenesis, buildUserEntry, encodeEntry, generatePartyKeys, newRecoveryPhrase, signEntry, userKeysFromPhrase, type InstitutionId
} from '@healthchain/core'
import { Ledger, writePartyKeys } from '@healthchain/ledger'
import { cli as runCliCapturing, errorCode, type CliRun } from './helpers/cli.js'
import { INDEX_FILE_NAME, QueryIndex } from '../src/query-index/index.js'
import { crypto, makeTempDir, overwriteBlock, removeDir } from './helpers/fixtures.js'

async function cli (...argv: string[]): Promise<CliRun> {
  return await runCliCapturing(argv)
}

async function mode (path: string): Promise<number> {
  return (await stat(path)).mode & 0o777
}

let dir: string
beforeAll(async () => { dir = await makeTempDir('healthchain-cli-') })

/** `<dir>/<name>-node`: keys, a consortium it hosts, and itself admitted as hospital-a (an examiner); stopped. */
async function oneNodeConsortium (name: string, consortium: string): Promise<string> {
  const nodeDir = join(dir, `${name}-node`)
  const governance = join(dir, `${name}-governance.json`)
  await cli('keys', 'create', '--dir', nodeDir)
  await cli('consortium', 'create', '--host-dir', nodeDir, '--name', consortium, '--institution', 'hospital-a', '--governance-key', governance)
  await cli('admit', '--host-dir', nodeDir, '--governance-key', governance, '--institution', 'hospital-a', '--role', 'examiner', '--data-dir', nodeDir)
  return nodeDir
}
afterAll(async () => { await removeDir(dir) })

const LEAF_COMMANDS = [
  ['dev'], ['keys', 'create'], ['keys', 'rotate'], ['consortium', 'create'], ['admit'], ['suspend'], ['reinstate'], ['rotate'], ['reassign'], ['start'],
  ['apikey', 'create'], ['apikey', 'list'], ['apikey', 'revoke'],
  ['user', 'new'], ['user', 'enrol'], ['user', 'write'], ['user', 'read'], ['user', 'grant'],
  ['verify'], ['reindex'], ['status'], ['audit']
]

describe('healthchain CLI: help and usage', () => {
  it('has --help with a description, --json and examples on every command', async () => {
    const top = await cli('--help')
    expect(top.code).toBe(0)
    const names = ['dev', 'keys', 'consortium', 'admit', 'suspend', 'reinstate', 'rotate', 'reassign', 'start', 'apikey', 'user', 'verify', 'status', 'audit']
    for (const name of names) {
      expect(top.stdout).toContain(`  ${name}`)
    }
    for (const path of LEAF_COMMANDS) {
      const help = await cli(...path, '--help')
      expect(help.code, path.join(' ')).toBe(0)
      expect(help.stdout, path.join(' ')).toContain('Examples:')
      expect(help.stdout, path.join(' ')).toContain('--json')
    }
  })

  it('answers usage errors with `error USAGE: …` and exit 2', async () => {
    const cases: string[][] = [
      ['keys', 'create'], // missing --dir
      ['no-such-command'],
      ['status', '--api', 'ftp://example'],
      ['dev', '--base-port', '80'],
      ['user', 'write', '--api', 'http://127.0.0.1:9', '--institution', 'hospital-a', '--phrase-file', 'x', '--type', 'sleep', '--data', '{}'],
      ['admit', '--governance-key', 'g.json', '--institution', 'agency', '--role', 'inquirer', '--data-dir', 'x', '--host-dir', 'h', '--api', 'http://127.0.0.1:9'],
      ['admit', '--governance-key', 'g.json', '--institution', 'agency', '--role', 'overlord', '--data-dir', 'x', '--host-dir', 'h'],
      ['apikey', 'list'], // neither --dir nor --config
      ['apikey', 'revoke', '--dir', 'd', '--id', 'xyz'], // not a key id
      ['user', 'read', '--api', 'http://127.0.0.1:9'] // nobody to read as
    ]
    for (const argv of cases) {
      const run = await cli(...argv)
      expect(run.code, argv.join(' ')).toBe(2)
      expect(errorCode(run), `${argv.join(' ')}\n${run.stderr}`).toBe('USAGE')
      expect(run.stdout).toBe('')
    }
    // A group without a subcommand shows its help, as a usage error.
    expect((await cli('user')).code).toBe(2)
  })
})

describe('healthchain CLI: setting up a consortium offline', () => {
  it('creates keys, a consortium, admits (from a data dir and from a public-keys file), suspends and reinstates', async () => {
    const hostDir = join(dir, 'hospital-a')
    const agencyDir = join(dir, 'agency')
    const governance = join(dir, 'governance.json')

    const keys = await cli('keys', 'create', '--dir', hostDir, '--json')
    expect(keys.code).toBe(0)
    expect(keys.json()).toMatchObject({ v: 1, kind: 'healthchain-node-public-keys', created: true })
    expect(keys.json().peerId).toMatch(/^12D3KooW/)
    expect(keys.stdout).not.toContain('secret')
    const again = await cli('keys', 'create', '--dir', hostDir, '--json')
    expect(again.json()).toMatchObject({ created: false, peerId: keys.json().peerId, sign: keys.json().sign })
    expect(await mode(join(hostDir, 'keys', 'institution.json'))).toBe(0o600)
    expect(await mode(join(hostDir, 'keys', 'p2p.json'))).toBe(0o600)
    expect((await cli('keys', 'create', '--dir', hostDir)).stdout).toContain(`peer id  ${keys.json().peerId as string}`)

    const agencyKeys = await cli('keys', 'create', '--dir', agencyDir, '--json')
    const publicKeysFile = join(dir, 'agency.keys.json')
    await writeFile(publicKeysFile, agencyKeys.stdout)

    const consortium = await cli('consortium', 'create', '--host-dir', hostDir, '--name', 'Test consortium', '--institution', 'hospital-a', '--governance-key', governance, '--json')
    expect(consortium.code, consortium.stderr).toBe(0)
    expect(consortium.json().registryKey).toMatch(/^[0-9a-f]{64}$/)
    expect(consortium.json().governanceKeyCreated).toBe(true)
    expect(await mode(governance)).toBe(0o600)
    const twice = await cli('consortium', 'create', '--host-dir', hostDir, '--name', 'Again', '--institution', 'hospital-a', '--governance-key', governance)
    expect(twice.code).toBe(1)
    expect(errorCode(twice)).toBe('BAD_REGISTRY')

    const target = ['--host-dir', hostDir, '--governance-key', governance]
    const admitHost = await cli('admit', ...target, '--institution', 'hospital-a', '--role', 'examiner', '--data-dir', hostDir, '--addr', '/ip4/127.0.0.1/tcp/4001', '--json')
    expect(admitHost.code, admitHost.stderr).toBe(0)
    expect(admitHost.json()).toMatchObject({ seq: 1, type: 'admit', institution: 'hospital-a', peerId: keys.json().peerId, addrs: ['/ip4/127.0.0.1/tcp/4001'] })
    const admitAgency = await cli('admit', ...target, '--institution', 'agency', '--role', 'inquirer', '--public-keys', publicKeysFile, '--json')
    expect(admitAgency.code, admitAgency.stderr).toBe(0)
    expect(admitAgency.json()).toMatchObject({ seq: 2, peerId: agencyKeys.json().peerId })

    const duplicate = await cli('admit', ...target, '--institution', 'hospital-a', '--role', 'examiner', '--data-dir', hostDir)
    expect(duplicate.code).toBe(1)
    expect(errorCode(duplicate)).toBe('REGISTRY_CONFLICT')

    expect((await cli('suspend', ...target, '--institution', 'agency', '--reason', 'audit pending', '--json')).json()).toMatchObject({ seq: 3, type: 'suspend' })
    expect((await cli('reinstate', ...target, '--institution', 'agency', '--json')).json()).toMatchObject({ seq: 4, type: 'reinstate' })
    const notSuspended = await cli('reinstate', ...target, '--institution', 'agency')
    expect(errorCode(notSuspended)).toBe('REGISTRY_CONFLICT')

    // Someone else's governance key is refused, and nothing is written.
    const stranger = join(dir, 'stranger.json')
    await writePartyKeys(stranger, generatePartyKeys(crypto))
    const forged = await cli('suspend', '--host-dir', hostDir, '--governance-key', stranger, '--institution', 'agency')
    expect(forged.code).toBe(1)
    expect(errorCode(forged)).toBe('BAD_SIGNATURE')

    const noKeyFile = await cli('suspend', '--host-dir', hostDir, '--governance-key', join(dir, 'missing.json'), '--institution', 'agency')
    expect(errorCode(noKeyFile)).toBe('BAD_FILE')
    const neither = await cli('suspend', '--governance-key', governance, '--institution', 'agency')
    expect(neither.code).toBe(2)
  })
})

describe('healthchain CLI: key rotation offline', () => {
  it('makes key generations beside the old ones, records the newest (rotate --host-dir), and still knows the node\'s role', async () => {
    const nodeDir = await oneNodeConsortium('rotating', 'Rotation')
    const governance = join(dir, 'rotating-governance.json')
    expect(errorCode(await cli('keys', 'rotate'))).toBe('USAGE')
    const first = (await cli('keys', 'create', '--dir', nodeDir, '--json')).json()
    const rotated = await cli('keys', 'rotate', '--dir', nodeDir, '--json')
    expect(rotated.code, rotated.stderr).toBe(0)
    expect(rotated.json()).toMatchObject({ generation: 2, peerId: first.peerId })
    expect(rotated.json().sign).not.toBe(first.sign)
    expect((await cli('keys', 'rotate', '--dir', nodeDir, '--json')).json()).toMatchObject({ generation: 3 })
    for (const name of ['institution.json', 'institution-2.json', 'institution-3.json']) expect(await mode(join(nodeDir, 'keys', name))).toBe(0o600)

    const target = ['--host-dir', nodeDir, '--governance-key', governance]
    const rotate = await cli('rotate', ...target, '--institution', 'hospital-a', '--data-dir', nodeDir, '--json')
    expect(rotate.code, rotate.stderr).toBe(0)
    expect(rotate.json()).toMatchObject({ seq: 2, type: 'rotate', institution: 'hospital-a' })
    expect(rotate.json().sign).not.toBe(rotated.json().sign)
    expect(errorCode(await cli('rotate', ...target, '--institution', 'nobody', '--data-dir', nodeDir))).toBe('REGISTRY_CONFLICT')
    expect((await cli('apikey', 'create', '--dir', nodeDir, '--label', 'desk', '--json')).json()).toMatchObject({ role: 'examiner' })

    // A missing generation is a lost key: refused, never skipped.
    await rm(join(nodeDir, 'keys', 'institution-2.json'))
    expect(errorCode(await cli('keys', 'rotate', '--dir', nodeDir))).toBe('DATA_FILE')
  })
})

describe('healthchain CLI: API keys', () => {
  it('creates (shown once), lists (no secrets) and revokes keys in a data directory', async () => {
    const nodeDir = join(dir, 'keys-node')
    await cli('keys', 'create', '--dir', nodeDir)
    const created = await cli('apikey', 'create', '--dir', nodeDir, '--role', 'examiner', '--label', 'front desk', '--json')
    expect(created.code, created.stderr).toBe(0)
    const { id, apiKey } = created.json()
    expect(apiKey).toMatch(new RegExp(`^hck_${id as string}_[A-Za-z0-9_-]{43}$`))
    expect(await mode(join(nodeDir, 'keys', 'api-keys.json'))).toBe(0o600)
    expect(await readFile(join(nodeDir, 'keys', 'api-keys.json'), 'utf8')).not.toContain((apiKey as string).slice(22))

    const list = await cli('apikey', 'list', '--dir', nodeDir, '--json')
    expect(list.json().keys).toEqual([expect.objectContaining({ id, label: 'front desk', role: 'examiner' })])
    expect(list.stdout).not.toContain((apiKey as string).slice(22))
    expect(list.stdout).not.toContain('hash')
    expect((await cli('apikey', 'list', '--dir', nodeDir)).stdout).toContain(id)

    const revoked = await cli('apikey', 'revoke', '--dir', nodeDir, '--id', id, '--json')
    expect(revoked.json().revokedAt).toBeDefined()
    const unknown = await cli('apikey', 'revoke', '--dir', nodeDir, '--id', '0123456789abcdef')
    expect(unknown.code).toBe(1)
    expect(errorCode(unknown)).toBe('UNKNOWN_KEY')

    expect((await cli('apikey', 'create', '--dir', nodeDir)).code).toBe(2) // no role
    const config = join(dir, 'keys-node.json')
    await writeFile(config, JSON.stringify({ name: 'agency', role: 'inquirer', dataDir: nodeDir }))
    const viaConfig = await cli('apikey', 'create', '--config', config, '--json')
    expect(viaConfig.json().role).toBe('inquirer')
    const notItsRole = await cli('apikey', 'create', '--config', config, '--role', 'examiner')
    expect(notItsRole.code).toBe(1)
    expect(errorCode(notItsRole)).toBe('KEY_ROLE_MISMATCH')
    expect(errorCode(await cli('apikey', 'list', '--dir', join(dir, 'nowhere')))).toBe('NOT_A_DATA_DIR')
  })

  it('takes the node\'s role from its registry or its config.json, and refuses a key for another role (KEY_ROLE_MISMATCH)', async () => {
    const nodeDir = await oneNodeConsortium('role', 'Roles')

    // Stopped: the registry in its store says it is an examiner.
    const wrong = await cli('apikey', 'create', '--dir', nodeDir, '--role', 'inquirer')
    expect(wrong.code).toBe(1)
    expect(errorCode(wrong)).toBe('KEY_ROLE_MISMATCH')
    expect((await cli('apikey', 'list', '--dir', nodeDir, '--json')).json().keys).toEqual([])
    const defaulted = await cli('apikey', 'create', '--dir', nodeDir, '--json')
    expect(defaulted.code, defaulted.stderr).toBe(0)
    expect(defaulted.json().role).toBe('examiner')

    // Running (its store locked): only a config.json beside the data that names this directory can tell.
    const running = await Ledger.open({ dir: join(nodeDir, 'store'), crypto, verifyWorkers: 0 })
    try {
      expect(errorCode(await cli('apikey', 'create', '--dir', nodeDir))).toBe('USAGE')
      const unchecked = await cli('apikey', 'create', '--dir', nodeDir, '--role', 'examiner', '--json')
      expect(unchecked.code, unchecked.stderr).toBe(0)
      expect(unchecked.stderr).toContain('KEY_ROLE_MISMATCH') // the note that --role could not be checked
      // A copied example config whose dataDir is another directory runs another node: not this one's role.
      await writeFile(join(nodeDir, 'config.json'), JSON.stringify({ name: 'hospital-a', role: 'regulator', dataDir: './data' }))
      expect(errorCode(await cli('apikey', 'create', '--dir', nodeDir))).toBe('USAGE')
      await writeFile(join(nodeDir, 'config.json'), JSON.stringify({ name: 'hospital-a', role: 'examiner', dataDir: '.' }))
      expect(errorCode(await cli('apikey', 'create', '--dir', nodeDir, '--role', 'regulator'))).toBe('KEY_ROLE_MISMATCH')
      expect((await cli('apikey', 'create', '--dir', nodeDir, '--json')).json().role).toBe('examiner')
    } finally {
      await running.close()
    }
  })

  it('names the node directories inside a network directory instead of advising `keys create` there', async () => {
    const root = join(dir, 'network-root')
    await cli('keys', 'create', '--dir', join(root, 'hospital-a'))
    await cli('keys', 'create', '--dir', join(root, 'agency'))
    await writeFile(join(root, 'network.json'), '{}')
    for (const argv of [['list'], ['create', '--role', 'examiner'], ['revoke', '--id', '0123456789abcdef']]) {
      const run = await cli('apikey', argv[0]!, '--dir', root, ...argv.slice(1))
      expect(errorCode(run), argv[0]).toBe('NOT_A_DATA_DIR')
      expect(run.stderr).toContain('agency, hospital-a')
      expect(run.stderr).toContain(`--dir ${join(root, 'agency')}`)
      expect(run.stderr).not.toContain('keys create')
    }
    const bare = join(dir, 'network-bare')
    await mkdir(bare)
    await writeFile(join(bare, 'dev.json'), '{}')
    const none = await cli('apikey', 'list', '--dir', bare)
    expect(errorCode(none)).toBe('NOT_A_DATA_DIR')
    expect(none.stderr).not.toContain('keys create')
  })
})

describe('healthchain CLI: input files', () => {
  it('says plainly that a --data @file, a --gpx file or a phrase file does not exist, and what a phrase file must hold', async () => {
    const phrase = join(dir, 'files.phrase.json')
    expect((await cli('user', 'new', '--out', phrase)).code).toBe(0)
    const write = (phraseFile: string, data: string): Promise<CliRun> =>
      cli('user', 'write', '--api', 'http://127.0.0.1:9', '--institution', 'hospital-a', '--phrase-file', phraseFile, '--type', 'exercise', '--data', data)

    const missingData = join(dir, 'missing-data.json')
    const noData = await write(phrase, `@${missingData}`)
    expect(errorCode(noData)).toBe('BAD_FILE')
    expect(noData.stderr).toContain(`${missingData} does not exist`)
    expect(noData.stderr).not.toContain('ENOENT')
    expect(errorCode(await write(phrase, `@${dir}`))).toBe('BAD_FILE') // a directory

    const missingGpx = join(dir, 'missing.gpx')
    const noGpx = await cli('phone', 'import', '--device', join(dir, 'no-device'), '--gpx', missingGpx)
    expect(errorCode(noGpx)).toBe('BAD_FILE')
    expect(noGpx.stderr).toContain(`${missingGpx} does not exist`)

    const noPhrase = await write(join(dir, 'missing.phrase.json'), '{}')
    expect(errorCode(noPhrase)).toBe('KEY_FILE')
    expect(noPhrase.stderr).toContain('does not exist')
    expect(noPhrase.stderr).toContain('user new --out')

    const words = join(dir, 'words.txt')
    await writeFile(words, 'abandon ability able about', { mode: 0o600 })
    const notJson = await write(words, '{}')
    expect(errorCode(notJson)).toBe('KEY_FILE')
    expect(notJson.stderr).toContain('"kind": "user-phrase"')
    expect(notJson.stderr).toContain('user new --out')

    // A right file with a wrong mode keeps the ledger's advice (chmod), not the format's.
    const open = join(dir, 'open.phrase.json')
    await writeFile(open, await readFile(phrase, 'utf8'), { mode: 0o644 })
    await chmod(open, 0o644)
    const readable = await write(open, '{}')
    expect(errorCode(readable)).toBe('KEY_FILE')
    expect(readable.stderr).toContain('chmod 600')
    expect(readable.stderr).not.toContain('user new --out')
  })
})

describe('healthchain CLI: users', () => {
  it('user new shows the phrase once, or writes it owner-only with --out (never overwriting)', async () => {
    const shown = await cli('user', 'new', '--json')
    const { userId, phrase } = shown.json()
    expect((phrase as string).split(' ')).toHaveLength(24)
    expect(userKeysFromPhrase(phrase, crypto).userId).toBe(userId)
    expect((await cli('user', 'new')).stdout.split('\n').some((l) => l.trim().split(' ').length === 24)).toBe(true)

    const file = join(dir, 'alice.phrase.json')
    const written = await cli('user', 'new', '--out', file)
    expect(written.code).toBe(0)
    expect(await mode(file)).toBe(0o600)
    const stored = JSON.parse(await readFile(file, 'utf8')).phrase as string
    expect(written.stdout).not.toContain(stored.split(' ')[0]! + ' ' + stored.split(' ')[1]!)
    expect(written.stdout).toContain(userKeysFromPhrase(stored, crypto).userId)
    const overwrite = await cli('user', 'new', '--out', file)
    expect(overwrite.code).toBe(1)
    expect(errorCode(overwrite)).toBe('BAD_FILE')
  })
})

describe('healthchain CLI: verify offline', () => {
  it('reports a valid chain (exit 0), a damaged one (exit 1 CHAIN_INVALID), and unknown users and directories', async () => {
    const nodeDir = await oneNodeConsortium('verify', 'Verify')

    const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
    const ledger = await Ledger.open({ dir: join(nodeDir, 'store'), institution: 'hospital-a' as InstitutionId, crypto, verifyWorkers: 0 })
    let exercise: Uint8Array
    try {
      const chainKey = await ledger.chainKeyFor(user.userId)
      const chain = await ledger.enrol(signEntry(buildGenesis(user, 'hospital-a' as InstitutionId, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto))
      const now = Date.now()
      const entry = signEntry(buildUserEntry('exercise', { start: now - 1000, end: now, observations: [{ code: '55423-8', value: 10, unit: '{steps}' }] }, {}, crypto), { chainKey, seq: 1 }, user.sign.secretKey, crypto)
      await chain.append(entry, 1)
      exercise = encodeEntry(entry)
    } finally {
      await ledger.close()
    }

    const valid = await cli('verify', '--dir', nodeDir, '--user', user.userId, '--json')
    expect(valid.code, valid.stderr).toBe(0)
    expect(valid.json()).toMatchObject({ valid: true, length: 2, verified: 2 })
    expect((await cli('verify', '--dir', nodeDir, '--user', user.userId)).stdout).toContain(': valid')

    const stranger = userKeysFromPhrase(newRecoveryPhrase(), crypto)
    expect(errorCode(await cli('verify', '--dir', nodeDir, '--user', stranger.userId))).toBe('UNKNOWN_CHAIN')
    expect(errorCode(await cli('verify', '--dir', join(dir, 'nowhere'), '--user', user.userId))).toBe('NOT_A_DATA_DIR')

    // One byte of the stored exercise entry changed on disk, below Hypercore's signing.
    const damaged = await Ledger.open({ dir: join(nodeDir, 'store'), institution: 'hospital-a' as InstitutionId, crypto, verifyWorkers: 0 })
    try {
      const bytes = exercise.slice()
      bytes[bytes.length - 1]! ^= 0x01
      await overwriteBlock(coreOf(await damaged.chain(user.userId)), 1, bytes)
    } finally {
      await damaged.close()
    }
    const invalid = await cli('verify', '--dir', nodeDir, '--user', user.userId, '--json')
    expect(invalid.code).toBe(1)
    expect(errorCode(invalid)).toBe('CHAIN_INVALID')
    expect(invalid.json().valid).toBe(false)
  })
})

describe('healthchain CLI: reindex', () => {
  it('rebuilds a stopped node\'s query index from its chains, with progress, and answers as before', async () => {
    const nodeDir = await oneNodeConsortium('reindex', 'Reindex')
    const ledger = await Ledger.open({ dir: join(nodeDir, 'store'), institution: 'hospital-a' as InstitutionId, crypto, verifyWorkers: 0 })
    const users = [userKeysFromPhrase(newRecoveryPhrase(), crypto), userKeysFromPhrase(newRecoveryPhrase(), crypto)]
    try {
      for (const user of users) {
        const chainKey = await ledger.chainKeyFor(user.userId)
        const chain = await ledger.enrol(signEntry(buildGenesis(user, 'hospital-a' as InstitutionId, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto))
        const now = Date.now()
        await chain.append(signEntry(buildUserEntry('exercise', { start: now - 1000, end: now, observations: [{ code: '55423-8', value: 321, unit: '{steps}' }] }, {}, crypto), { chainKey, seq: 1 }, user.sign.secretKey, crypto), 1)
      }
    } finally {
      await ledger.close()
    }

    const run = await cli('reindex', '--dir', nodeDir, '--json')
    expect(run.code, run.stderr).toBe(0)
    expect(run.json()).toMatchObject({ chainsDone: 2, chainsTotal: 2, entriesDone: 4, failed: [] })
    expect(run.stderr).toMatch(/reindex \[#+\] 100%/)
    const index = QueryIndex.open(join(nodeDir, 'index', INDEX_FILE_NAME))
    try {
      expect(index.series(users[0]!.userId, '55423-8').count).toBe(1)
    } finally {
      await index.close()
    }
    expect(errorCode(await cli('reindex', '--dir', join(dir, 'nowhere')))).toBe('NOT_A_DATA_DIR')
  })
})
