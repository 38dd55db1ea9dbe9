/**
 * A party's node run as a child process (fixtures/net-node.ts), so that a
 * test can kill it with SIGKILL and start it again from the same data
 * directory. Its keys go to an owner-only file under `dir`, never on a
 * command line; the process is stopped by the cleanup list.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { bytesToHex } from '@healthchain/core'
import type { KeysFile, NetNodeConfig } from '../fixtures/net-node.js'
import { NodeProcess } from '../fixtures/net-node-process.js'
import type { Cleanup, Party, TestNet } from '@healthchain/net/testing'

export interface ChildNodeSpawner {
  /** Starts the node (again) on 127.0.0.1; `bootstrap` is a multiaddr with /p2p/ to take the registry from, if its data has none yet. */
  spawn (bootstrap: string | undefined): Promise<NodeProcess>
}

/** Writes the party's keys under `dir` (0600) and returns what starts its node; `registryHost` is the party whose ledger holds the registry. */
export async function childNode (net: TestNet, party: Party, registryHost: string, dir: string, cleanup: Cleanup): Promise<ChildNodeSpawner> {
  const keys: KeysFile = {
    p2p: bytesToHex(privateKeyToProtobuf(party.p2p)),
    sign: { publicKey: bytesToHex(party.keys.sign.publicKey), secretKey: bytesToHex(party.keys.sign.secretKey) },
    box: { publicKey: bytesToHex(party.keys.box.publicKey), secretKey: bytesToHex(party.keys.box.secretKey) }
  }
  const keysFile = join(dir, `${party.id}.keys.json`)
  await writeFile(keysFile, JSON.stringify(keys), { mode: 0o600 })
  return {
    async spawn (bootstrap) {
      const config: NetNodeConfig = {
        dataDir: join(dir, party.id),
        institution: party.id,
        listen: '/ip4/127.0.0.1/tcp/0',
        registryKey: bytesToHex(net.registryKey),
        registryLength: (await net.ledger(registryHost)).registry.length,
        bootstrap,
        peers: [],
        keysFile
      }
      const configFile = join(dir, `${party.id}.config.json`)
      await writeFile(configFile, JSON.stringify(config), { mode: 0o600 })
      const child = new NodeProcess(party.id, undefined, configFile)
      cleanup.push(async () => { await child.stop() })
      return child
    }
  }
}
