/** The node tests' daemons: the node level of the consortium harness (`@healthchain/node/testing`). */
import type { TestNode } from '../../src/testing/index.js'

export {
  call, enrolOverHttp, staffToken, startConsortium, userToken, waitUntil,
  type ConsortiumOptions, type Reply, type TestConsortium, type TestNode
} from '../../src/testing/index.js'

/** The node's TCP address with its peer id: what a phone dials. */
export function p2pAddress (node: TestNode): string {
  const address = node.daemon.network.addresses.find((a) => a.includes('/tcp/') && !a.includes('/ws') && a.includes('/p2p/'))
  if (address === undefined) throw new Error(`${node.id} has no TCP address`)
  return address
}
