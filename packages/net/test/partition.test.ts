/**
 * A network partition between real node processes, each in its own Linux
 * network namespace (10.213.0.0/24 on a bridge that exists only inside
 * them): hospital-a (custodian, hosts the bridge), hospital-b and
 * regulator-r. hospital-b is cut off; meanwhile hospital-a writes an exam
 * and hospital-b's forwarded exam fails with CUSTODIAN_UNREACHABLE. After
 * healing, hospital-b sends the same entry again, and all three nodes
 * converge on one verified chain holding both exams exactly once.
 *
 * Needs root and iproute2 (`ip netns`); elsewhere the test is skipped and
 * says why.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { buildGenesis, bytesToHex, encodeEntry, newRecoveryPhrase, signEntry, userKeysFromPhrase } from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { LedgerConsortium } from '@healthchain/ledger/testing'
import type { KeysFile, NetNodeConfig } from './fixtures/net-node.js'
import { NodeCommandError, NodeProcess } from './fixtures/net-node-process.js'
import { NetnsLab, listNetns, netnsUnavailable } from './helpers/netns.js'
import { makeParty as party, waitFor, type Party } from '@healthchain/net/testing'

const unavailable = await netnsUnavailable()
if (unavailable !== undefined) console.warn(`partition test skipped: ${unavailable}`)

interface Status { peerId: string, peers: string[], headsSubscribers: string[], replicationPeers: string[] }
type ChainView =
  | { held: false }
  | { held: true, length: number, verifiedLength: number, ids: string[], types: string[], valid: boolean, verified: number, forked: boolean }
interface WriteResult { seq: number, duplicate: boolean, entryId: string }

const PORT = 4001
const processes: NodeProcess[] = []
let lab: NetnsLab | undefined
let dir: string | undefined

afterAll(async () => {
  // Children first (a namespace outlives its processes), then the namespaces, then the data.
  await Promise.all(processes.splice(0).map(async (p) => { await p.stop() }))
  const problems = await lab?.destroy() ?? []
  if (dir !== undefined) await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  if (lab !== undefined) {
    // Other sessions' namespaces may come and go meanwhile: none of ours (unique prefix) may be left.
    const left = (await listNetns()).filter((ns) => ns.startsWith(`${lab!.prefix}-`))
    if (problems.length > 0 || left.length > 0) throw new Error(`cleanup failed: ${[...problems, ...left.map((ns) => `namespace ${ns} left`)].join('; ')}`)
  }
}, 30_000)

async function chainOf (node: NodeProcess, user: string): Promise<ChainView> {
  return await node.request<ChainView>('chain', { user })
}

/** Waits until every node holds `user`'s chain verified up to `length`. */
async function converged (nodes: NodeProcess[], user: string, length: number, what: string): Promise<void> {
  await waitFor(async () => (await Promise.all(nodes.map(async (n) => await chainOf(n, user))))
    .every((c) => c.held && c.verifiedLength === length), what, 15_000)
}

/** Waits until every node has a connection to, and sees on the heads topic, every other. */
async function meshed (nodes: NodeProcess[], what: string): Promise<void> {
  await waitFor(async () => {
    const statuses = await Promise.all(nodes.map(async (n) => await n.request<Status>('status')))
    return statuses.every((s) => nodes.every((o) => o.peerId === s.peerId ||
      (s.peers.includes(o.peerId) && s.headsSubscribers.includes(o.peerId) && s.replicationPeers.includes(o.peerId))))
  }, what, 15_000)
}

describe('a partition between nodes in network namespaces', () => {
  it.skipIf(unavailable !== undefined)(
    `writes on both sides of a partition converge once it heals${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'healthchain-partition-'))
      await chmod(dir, 0o700)
      const [a, b, r] = await Promise.all([party('hospital-a', 'examiner'), party('hospital-b', 'examiner'), party('regulator-r', 'regulator')])

      // The governance key creates the registry in hospital-a's data dir before its process starts.
      // (The directory is this test's: the consortium leaves it to the teardown above.)
      const consortium = await LedgerConsortium.create({ parties: [a, b, r], name: 'Partition test', dir, ledger: { crypto, verifyWorkers: 0 } })
      const registry = await consortium.hostRegistry()
      const registryKey = bytesToHex(registry.key)
      const registryLength = registry.length
      await consortium.close()

      lab = new NetnsLab(['a', 'b', 'r'])
      await lab.create()
      const [nsA, nsB, nsR] = lab.names as [string, string, string]
      const addressOf = (ns: string, p: Party): string => `/ip4/${lab!.address(ns)}/tcp/${PORT}/p2p/${p.peer}`

      const start = async (p: Party, ns: string, bootstrap: string | undefined, peers: string[]): Promise<NodeProcess> => {
        const keysFile = join(dir!, `${p.id}.keys.json`)
        const keys: KeysFile = {
          p2p: bytesToHex(privateKeyToProtobuf(p.p2p)),
          sign: { publicKey: bytesToHex(p.keys.sign.publicKey), secretKey: bytesToHex(p.keys.sign.secretKey) },
          box: { publicKey: bytesToHex(p.keys.box.publicKey), secretKey: bytesToHex(p.keys.box.secretKey) }
        }
        await writeFile(keysFile, JSON.stringify(keys), { mode: 0o600 })
        const config: NetNodeConfig = {
          dataDir: join(dir!, p.id),
          institution: p.id,
          listen: `/ip4/${lab!.address(ns)}/tcp/${PORT}`,
          registryKey,
          registryLength,
          bootstrap,
          peers,
          keysFile
        }
        const configFile = join(dir!, `${p.id}.config.json`)
        await writeFile(configFile, JSON.stringify(config), { mode: 0o600 })
        const node = new NodeProcess(p.id, ns, configFile)
        processes.push(node)
        return node
      }

      const nodeA = await start(a, nsA, undefined, [])
      await nodeA.ready()
      const nodeB = await start(b, nsB, addressOf(nsA, a), [])
      const nodeR = await start(r, nsR, addressOf(nsA, a), [])
      await Promise.all([nodeB.ready(), nodeR.ready()])
      await nodeR.request('dial', { address: addressOf(nsB, b) })
      const all = [nodeA, nodeB, nodeR]
      await meshed(all, 'the three nodes to connect and subscribe to heads')

      // A user enrols at hospital-a; the user signs the genesis (here, in the test) for the key A names.
      const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
      const chainKey = Uint8Array.from(Buffer.from(await nodeA.request<string>('chainKey', { user: user.userId }), 'hex'))
      const genesis = signEntry(buildGenesis(user, a.id, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto)
      await nodeA.request('enrol', { genesis: bytesToHex(encodeEntry(genesis)) })
      await converged(all, user.userId, 1, 'every node to replicate the new chain')

      // Partition: hospital-b is cut off from the bridge.
      await lab.partition(nsB)
      await waitFor(async () => {
        const [sa, sb, sr] = await Promise.all(all.map(async (n) => await n.request<Status>('status')))
        return sb!.peers.length === 0 && !sa!.peers.includes(b.peer) && !sr!.peers.includes(b.peer) && sa!.peers.includes(r.peer)
      }, 'hospital-b to lose its connections, and A and R to keep theirs', 10_000)

      // On A's side: hospital-a writes an exam; the regulator replicates it.
      const fromA = await nodeA.request<WriteResult>('write', { label: 'a1', user: user.userId, userBox: bytesToHex(user.box.publicKey) })
      expect(fromA).toMatchObject({ seq: 1, duplicate: false })
      await converged([nodeA, nodeR], user.userId, 2, 'the regulator to replicate A\'s exam during the partition')

      // On B's side: hospital-b's exam must wait — its custodian is unreachable.
      const started = Date.now()
      const refused = await nodeB.request('write', { label: 'b1', user: user.userId, userBox: bytesToHex(user.box.publicKey), timeoutMs: 5_000 })
        .then(() => undefined, (err: unknown) => err)
      expect(refused).toBeInstanceOf(NodeCommandError)
      expect((refused as NodeCommandError).code).toBe('CUSTODIAN_UNREACHABLE')
      expect(Date.now() - started).toBeLessThan(5_000)
      const cutOff = await chainOf(nodeB, user.userId)
      expect(cutOff).toMatchObject({ held: true, length: 1, verifiedLength: 1 })

      // Heal; hospital-b reconnects and sends the same entry again.
      await lab.heal(nsB)
      await nodeB.request('dial', { address: addressOf(nsA, a) })
      await nodeB.request('dial', { address: addressOf(nsR, r) })
      await meshed(all, 'the nodes to reconnect after the partition heals')
      const fromB = await nodeB.request<WriteResult>('write', { label: 'b1', user: user.userId, userBox: bytesToHex(user.box.publicKey) })
      expect(fromB).toMatchObject({ seq: 2, duplicate: false })
      // Sent once more (as after an answer lost in transit): recognised, not appended twice.
      const again = await nodeB.request<WriteResult>('write', { label: 'b1', user: user.userId, userBox: bytesToHex(user.box.publicKey) })
      expect(again).toEqual({ ...fromB, duplicate: true })

      await converged(all, user.userId, 3, 'every node to converge on both exams')
      const views = await Promise.all(all.map(async (n) => await chainOf(n, user.userId)))
      const expectedIds = [bytesToHex(genesis.id), fromA.entryId, fromB.entryId]
      for (const view of views) {
        expect(view).toEqual({
          held: true, length: 3, verifiedLength: 3, ids: expectedIds, types: ['genesis', 'exam', 'exam'], valid: true, verified: 3, forked: false
        })
      }
      expect(new Set(expectedIds).size).toBe(3)
    },
    45_000
  )
})
