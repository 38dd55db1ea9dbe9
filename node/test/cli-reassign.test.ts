/**
 * `healthchain reassign` offline, run in this process (runCli) against a
 * real data directory and Corestore in a temporary directory: what the
 * registry refuses, the default `after`, a replacement, and a reinstatement
 * cancelling it, read back from the registry the command wrote. The same
 * command through --api is in cli-network.test.ts.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Ledger } from '@healthchain/ledger'
import { cli as runCliCapturing, errorCode, type CliRun } from './helpers/cli.js'
import { crypto, makeTempDir, removeDir } from './helpers/fixtures.js'

const DAY_MS = 86_400_000

async function cli (...argv: string[]): Promise<CliRun> {
  return await runCliCapturing(argv)
}

let dir: string
beforeAll(async () => { dir = await makeTempDir('healthchain-cli-reassign-') })
afterAll(async () => { await removeDir(dir) })

/** `<dir>/<name>-node`: keys, a consortium it hosts, and itself admitted as hospital-a (an examiner); stopped. */
async function oneNodeConsortium (name: string, consortium: string): Promise<string> {
  const nodeDir = join(dir, `${name}-node`)
  const governance = join(dir, `${name}-governance.json`)
  await cli('keys', 'create', '--dir', nodeDir)
  await cli('consortium', 'create', '--host-dir', nodeDir, '--name', consortium, '--institution', 'hospital-a', '--governance-key', governance)
  await cli('admit', '--host-dir', nodeDir, '--governance-key', governance, '--institution', 'hospital-a', '--role', 'examiner', '--data-dir', nodeDir)
  return nodeDir
}

describe('healthchain CLI: reassignment offline', () => {
  it('reassigns a suspended institution\'s chains to another active examiner after the notice period; refuses the rest; reinstating cancels', async () => {
    const nodeDir = await oneNodeConsortium('reassigning', 'Reassignment')
    const governance = join(dir, 'reassigning-governance.json')
    const target = ['--host-dir', nodeDir, '--governance-key', governance]
    const otherDir = join(dir, 'reassigning-hospital-b')
    await cli('keys', 'create', '--dir', otherDir)
    const admitted = await cli('admit', ...target, '--institution', 'hospital-b', '--role', 'examiner', '--data-dir', otherDir, '--json')
    expect(admitted.json()).toMatchObject({ seq: 2 })
    const reassign = async (...args: string[]) => await cli('reassign', ...target, '--institution', 'hospital-b', ...args)

    // hospital-b is active: its users still have their custodian.
    expect(errorCode(await reassign('--to', 'hospital-a'))).toBe('REGISTRY_CONFLICT')
    expect((await cli('suspend', ...target, '--institution', 'hospital-b', '--json')).json()).toMatchObject({ seq: 3 })
    const toItself = await reassign('--to', 'hospital-b')
    expect([toItself.code, errorCode(toItself)]).toEqual([2, 'USAGE'])
    expect(errorCode(await reassign('--to', 'nobody'))).toBe('REGISTRY_CONFLICT')
    const tooSoon = await reassign('--to', 'hospital-a', '--after', new Date(Date.now() + 29 * DAY_MS).toISOString())
    expect([tooSoon.code, errorCode(tooSoon)]).toEqual([2, 'USAGE'])
    expect(tooSoon.stderr).toContain('notice period of 30 days')
    const noZone = await reassign('--to', 'hospital-a', '--after', '2099-01-01T00:00:00')
    expect(noZone.code).toBe(2)

    const before = Date.now()
    const done = await reassign('--to', 'hospital-a', '--json')
    expect(done.code, done.stderr).toBe(0)
    const { after } = done.json() as { after: number }
    expect(done.json()).toMatchObject({ seq: 4, type: 'reassign', institution: 'hospital-b', to: 'hospital-a' })
    expect(after).toBeGreaterThanOrEqual(before + 30 * DAY_MS)
    expect(after).toBeLessThanOrEqual(Date.now() + 30 * DAY_MS + 2 * 60_000)
    const explicit = new Date(Date.now() + 40 * DAY_MS).toISOString().replace(/\.\d+Z$/, 'Z')
    expect((await reassign('--to', 'hospital-a', '--after', explicit, '--json')).json()).toMatchObject({ seq: 5, after: Date.parse(explicit) })

    expect((await cli('reinstate', ...target, '--institution', 'hospital-b', '--json')).json()).toMatchObject({ seq: 6 })
    const ledger = await Ledger.open({ dir: join(nodeDir, 'store'), crypto, verifyWorkers: 0 })
    try {
      const state = ledger.registry.state
      expect(state.reassignmentOf('hospital-b', 5)).toMatchObject({ to: 'hospital-a', after, since: 4 })
      expect(state.reassignmentOf('hospital-b', 6)).toMatchObject({ to: 'hospital-a', after: Date.parse(explicit), since: 5 })
      expect(state.reassignmentOf('hospital-b')).toBeUndefined()
    } finally {
      await ledger.close()
    }
    // Reinstated, hospital-b is active again: no reassignment.
    expect(errorCode(await reassign('--to', 'hospital-a'))).toBe('REGISTRY_CONFLICT')
  })
})
