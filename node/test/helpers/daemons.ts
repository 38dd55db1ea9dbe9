/** The node tests' daemons: the node level of the consortium harness (`@healthchain/node/testing`). */
export {
  call, enrolOverHttp, staffToken, startConsortium, userToken, waitUntil,
  type ConsortiumOptions, type Reply, type TestConsortium, type TestNode
} from '../../src/testing/index.js'
