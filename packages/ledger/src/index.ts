export { Ledger, type LedgerOptions, type StoredLength } from './ledger.js'
export { LOCAL_CORES, type LocalCoreName, type LocalCoreSource, type LocalCoreDeclaration } from './local-cores.js'
export type { StoredChainHead, StoredSignedHead } from './stored-heads.js'
export { UserChain, type AppendResult, type IngestResult, type PositionedEntry, type ReadQuery } from './user-chain.js'
export { RegistryFeed } from './registry-feed.js'
export { ChainRules, type ChainUser, type CheckOptions } from './chain-rules.js'
export { verifyChain, type ChainReport, type ChainProblem } from './verify-chain.js'
export {
  conflictingUpgrade, coreKeyOfSigner, headInMemory, rawHeadSignature, storedHead, storedTreeHash, treeSignable, writerHead,
  type ConflictingUpgrade, type StoredHead, type TreeAudit
} from './tree-audit.js'
export { MAX_CONSISTENCY_LENGTH, consistencyIndexes, foldConsistency, readConsistencyNodes, type ConsistencyHashes } from './consistency.js'
export { VerifyPool } from './verify-pool.js'
export { logMark, rangesOf, scrubCleared, startScrub, type ClearedRange, type LogMark, type ScrubMode, type ScrubOptions, type StartedScrub } from './scrub.js'
export { RootBuilder, type MerkleNode } from './merkle.js'
export { LedgerError, type LedgerErrorCode } from './errors.js'
export { writePartyKeys, readPartyKeys, writeRecoveryPhrase, readRecoveryPhrase } from './key-store.js'
export { WorkerPool, type WorkerFailure, type WorkerPoolOptions } from './worker-pool.js'
export { serveJobs, type Handled } from './worker-serve.js'
