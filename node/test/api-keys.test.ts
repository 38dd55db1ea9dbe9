/**
 * API keys: the secret is shown once and never stored, verification refuses
 * with typed codes, revocation and keys survive a restart, a second process
 * (the CLI) sees the same file, and the file is owner-only.
 */
import { chmod, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ApiKeyStore, apiKeyIdOf, prepareDataDir, type DataDirLayout } from '../src/index.js'
import { expectCode, fakeClock, makeTempDir, removeDir } from './helpers/fixtures.js'

let dir: string
let layout: DataDirLayout
beforeEach(async () => {
  dir = await makeTempDir()
  layout = await prepareDataDir(join(dir, 'data'))
})
afterEach(async () => { await removeDir(dir) })

describe('API key store', () => {
  it('creates a key whose secret is returned once and never stored', async () => {
    const clock = fakeClock()
    const store = await ApiKeyStore.open(layout.apiKeysFile, { now: clock.now })
    const { apiKey, record } = await store.create('front desk', 'examiner')
    expect(apiKey).toMatch(/^hck_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/)
    expect(apiKeyIdOf(apiKey)).toBe(record.id)
    expect(record).toEqual({ id: record.id, label: 'front desk', role: 'examiner', createdAt: new Date(clock.now()).toISOString() })

    const text = await readFile(layout.apiKeysFile, 'utf8')
    const secret = apiKey.slice(`hck_${record.id}_`.length)
    expect(text).not.toContain(secret)
    expect(text).not.toContain(apiKey)
    expect(JSON.parse(text)).toMatchObject({ v: 1, kind: 'api-keys', keys: [{ id: record.id, hash: expect.stringMatching(/^[0-9a-f]{64}$/) }] })
    expect(((await stat(layout.apiKeysFile)).mode & 0o777).toString(8)).toBe('600')
    expect(((await stat(layout.keys)).mode & 0o777).toString(8)).toBe('700')

    expect(await store.list()).toEqual([record])
    expect(JSON.stringify(await store.list())).not.toContain('hash')
  })

  it('verifies a key, and refuses with MALFORMED_KEY, UNKNOWN_KEY, REVOKED_KEY', async () => {
    const store = await ApiKeyStore.open(layout.apiKeysFile)
    const { apiKey, record } = await store.create('lab', 'examiner')
    expect(await store.verify(apiKey)).toEqual({ id: record.id, label: 'lab', role: 'examiner' })

    await expectCode(store.verify('not a key'), 'MALFORMED_KEY')
    await expectCode(store.verify(apiKey + 'x'), 'MALFORMED_KEY')
    await expectCode(store.verify(''), 'MALFORMED_KEY')
    // Right id, wrong secret (same length and alphabet).
    const last = apiKey.at(-1) === 'A' ? 'Q' : 'A'
    await expectCode(store.verify(apiKey.slice(0, -1) + last), 'UNKNOWN_KEY')
    // Unknown id.
    await expectCode(store.verify(`hck_${'0'.repeat(16)}_${apiKey.slice(-43)}`), 'UNKNOWN_KEY')

    const revoked = await store.revoke(record.id)
    expect(revoked.revokedAt).toBeTypeOf('string')
    await expectCode(store.verify(apiKey), 'REVOKED_KEY')
    // Only the holder of the secret learns that the key was revoked.
    await expectCode(store.verify(apiKey.slice(0, -1) + last), 'UNKNOWN_KEY')
    // Revoking twice changes nothing; an unknown id is refused.
    expect(await store.revoke(record.id)).toEqual(revoked)
    await expectCode(store.revoke('ffffffffffffffff'), 'UNKNOWN_KEY')
    expect(await store.isActive(record.id)).toBe(false)
  })

  it('refuses a wrong secret for a known id and an unknown id alike, naming the id and the secret', async () => {
    const store = await ApiKeyStore.open(layout.apiKeysFile)
    const { apiKey, record } = await store.create('lab', 'examiner')
    const last = apiKey.at(-1) === 'A' ? 'Q' : 'A'
    const refusal = async (key: string): Promise<Error & { code: string }> =>
      await store.verify(key).then(() => { throw new Error('expected a refusal') }, (e: unknown) => e as Error & { code: string })
    const wrongSecret = await refusal(apiKey.slice(0, -1) + last)
    const otherId = 'f'.repeat(16) === record.id ? 'e'.repeat(16) : 'f'.repeat(16)
    const unknownId = await refusal(`hck_${otherId}_${apiKey.slice(-43)}`)
    expect([wrongSecret.code, unknownId.code]).toEqual(['UNKNOWN_KEY', 'UNKNOWN_KEY'])
    // The id is known here, so "not known" would be false; one message for both keeps an id holder from learning which.
    expect(wrongSecret.message).toContain(record.id)
    expect(wrongSecret.message).toMatch(/secret does not match/)
    expect(unknownId.message.replace(otherId, record.id)).toBe(wrongSecret.message)
  })

  it('survives a restart: keys verify, revoked keys stay revoked', async () => {
    const first = await ApiKeyStore.open(layout.apiKeysFile)
    const kept = await first.create('kept', 'examiner')
    const dropped = await first.create('dropped', 'examiner')
    await first.revoke(dropped.record.id)

    const reopened = await ApiKeyStore.open(layout.apiKeysFile)
    expect((await reopened.verify(kept.apiKey)).id).toBe(kept.record.id)
    await expectCode(reopened.verify(dropped.apiKey), 'REVOKED_KEY')
    expect((await reopened.list()).map((r) => r.label)).toEqual(['kept', 'dropped'])
  })

  it('sees keys created and revoked by another process (the CLI) without a restart', async () => {
    const daemon = await ApiKeyStore.open(layout.apiKeysFile)
    const cli = await ApiKeyStore.open(layout.apiKeysFile)
    const { apiKey, record } = await cli.create('made by the CLI', 'examiner')
    expect((await daemon.verify(apiKey)).id).toBe(record.id)
    await cli.revoke(record.id)
    await expectCode(daemon.verify(apiKey), 'REVOKED_KEY')
    // A change by the daemon keeps the CLI's keys.
    await daemon.create('made by the daemon', 'examiner')
    expect((await cli.list()).map((r) => r.label)).toEqual(['made by the CLI', 'made by the daemon'])
  })

  it('concurrent creations are all kept', async () => {
    const store = await ApiKeyStore.open(layout.apiKeysFile)
    const created = await Promise.all(Array.from({ length: 10 }, async (_, i) => await store.create(`k${i}`, 'inquirer')))
    const reopened = await ApiKeyStore.open(layout.apiKeysFile)
    for (const { apiKey } of created) expect((await reopened.verify(apiKey)).role).toBe('inquirer')
  })

  it('refuses a key file that group or others can read, and a malformed one', async () => {
    const store = await ApiKeyStore.open(layout.apiKeysFile)
    await store.create('x', 'examiner')
    await chmod(layout.apiKeysFile, 0o644)
    await expectCode(ApiKeyStore.open(layout.apiKeysFile), 'DATA_FILE')
    await chmod(layout.apiKeysFile, 0o600)
    const { writeFile } = await import('node:fs/promises')
    await writeFile(layout.apiKeysFile, '{"v":2}', { mode: 0o600 })
    await expectCode(ApiKeyStore.open(layout.apiKeysFile), 'DATA_FILE')
  })

  it('refuses a bad label or role', async () => {
    const store = await ApiKeyStore.open(layout.apiKeysFile)
    await expectCode(store.create('', 'examiner'), 'BAD_REQUEST')
    await expectCode(store.create('a\nb', 'examiner'), 'BAD_REQUEST')
    await expectCode(store.create('ok', 'user' as never), 'BAD_REQUEST')
  })
})
