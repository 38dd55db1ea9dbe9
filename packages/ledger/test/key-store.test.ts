/**
 * Key files refused with KEY_FILE whatever is wrong with them: missing (the
 * ENOENT cause kept, so callers that create a missing file can tell), not
 * JSON or another shape (the message says which shape is expected, without
 * echoing the contents); and a valid file read back.
 */
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readPartyKeys, readRecoveryPhrase, writeRecoveryPhrase } from '../src/index.js'
import { expectCode, makeTempDir } from './helpers/consortium.js'

let dir: string
beforeEach(async () => { dir = await makeTempDir('healthchain-key-store-') })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

describe('key files', () => {
  it('says a missing file does not exist, keeping the ENOENT cause', async () => {
    const path = join(dir, 'missing.json')
    const err = await expectCode(readRecoveryPhrase(path), 'KEY_FILE')
    expect(err.message).toContain(`${path} does not exist`)
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ENOENT')
  })

  it('names the expected shape for a file that is not JSON, or JSON of another shape, and never echoes it', async () => {
    const path = join(dir, 'phrase.json')
    for (const text of ['abandon ability able about', 'null', '{"v": 1, "kind": "party-keys"}']) {
      await writeFile(path, text, { mode: 0o600 })
      const err = await expectCode(readRecoveryPhrase(path), 'KEY_FILE')
      expect(err.message, text).toContain('"kind": "user-phrase"')
      expect(err.message).not.toContain('abandon')
    }
    // The last one, a party-keys file lacking its keys, read as one.
    expect((await expectCode(readPartyKeys(path), 'KEY_FILE')).message).toContain('"kind": "party-keys"')
  })

  it('reads back what it wrote', async () => {
    const path = join(dir, 'ok.json')
    await writeRecoveryPhrase(path, 'words of a phrase')
    expect(await readRecoveryPhrase(path)).toBe('words of a phrase')
  })
})
