/**
 * However a consortium is made (the CLI's `consortium create` and `admit`,
 * the dev network's set-up), the host node's data directory ends up holding
 * no byte of the governance secret key, and the host cannot append a
 * registry entry with anything it holds.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { InstitutionId } from '@healthchain/core'
import { Ledger, LedgerError, readPartyKeys } from '@healthchain/ledger'
import { findOnDisk, secretKeyMarkers } from '../../test/helpers/disk-scan.js'
import { openOrCreateDevNetwork } from '../src/cli/dev/setup.js'
import { DEV_NODES, devPaths } from '../src/cli/dev/layout.js'
import { dataDirLayout } from '../src/data-dir.js'
import { institutionKeysFile } from '../src/node-keys.js'
import { cli } from './helpers/cli.js'

let dir: string
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

async function governanceMarkers (keyFile: string): Promise<ReturnType<typeof secretKeyMarkers>> {
  return secretKeyMarkers('governance', (await readPartyKeys(keyFile)).sign.secretKey)
}

describe('the registry host\'s data directory holds no governance secret', () => {
  it('after `healthchain consortium create` and `healthchain admit --host-dir`', async () => {
    dir = await mkdtemp(join(tmpdir(), 'healthchain-gov-'))
    const hostDir = join(dir, 'hospital-a')
    const governance = join(dir, 'governance.json')
    const created = await cli(['consortium', 'create', '--host-dir', hostDir, '--name', 'Off-host test', '--institution', 'hospital-a', '--governance-key', governance, '--json'])
    expect(created.code, created.stderr).toBe(0)
    for (const [id, role] of [['hospital-a', 'examiner'], ['agency', 'inquirer']] as const) {
      const admitted = await cli(['admit', '--host-dir', hostDir, '--governance-key', governance, '--institution', id, '--role', role, '--data-dir', join(dir, id)])
      expect(admitted.code, admitted.stderr).toBe(0)
    }
    const suspended = await cli(['suspend', '--host-dir', hostDir, '--governance-key', governance, '--institution', 'agency'])
    expect(suspended.code, suspended.stderr).toBe(0)

    const markers = await governanceMarkers(governance)
    expect(await findOnDisk(hostDir, markers)).toEqual([])
    // The check finds the key where it is: the key file itself.
    expect((await findOnDisk(dir, markers)).map((h) => h.file)).toEqual(expect.arrayContaining(['governance.json']))
  })

  it('after the dev network\'s set-up, in every node\'s data directory; the host cannot append with its own keys (BAD_SIGNATURE)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'healthchain-gov-dev-'))
    const paths = devPaths(join(dir, 'dev'))
    await openOrCreateDevNetwork(paths, { basePort: undefined, defaultBasePort: 47_400, fresh: true }, () => {})

    const markers = await governanceMarkers(paths.governance)
    for (const node of DEV_NODES) expect(await findOnDisk(paths.nodeDir(node.name), markers), node.name).toEqual([])

    const host = DEV_NODES[0]!
    const ledger = await Ledger.open({ dir: dataDirLayout(paths.nodeDir(host.name)).store, verifyWorkers: 0 })
    try {
      const registry = ledger.registry
      expect(registry.core.writable).toBe(true)
      const before = registry.length
      const institution = await readPartyKeys(institutionKeysFile(dataDirLayout(paths.nodeDir(host.name)).keys))
      for (const signer of [registry.core.keyPair!, institution.sign]) {
        const refused = await registry.append('suspend', { institution: DEV_NODES[1]!.name as InstitutionId }, signer).then(() => undefined, (err: unknown) => err)
        expect(refused).toBeInstanceOf(LedgerError)
        expect((refused as LedgerError).code).toBe('BAD_SIGNATURE')
      }
      expect(registry.length).toBe(before)
    } finally {
      await ledger.close()
    }
  })
})
