/**
 * The network's wire formats: every message is a canonical CBOR map with a
 * version `v` (codec.ts) — 1, and 2 for the consistency fork proof — one
 * module per message family. See packages/net/README.md ("Wire formats")
 * for the table of layouts.
 */
export { WIRE_VERSION, compareBytes, type Codec } from './codec.js'
export {
  MAX_SIGNED_HEAD_BYTES, signedHeadSchema, signedHeadCodec, encodeSignedHead, decodeSignedHead,
  headSignable, verifyHead, assertHead, headOf, type HeadSource, type SignedHead
} from './head.js'
export { rawHeadSignature, treeSignable, coreKeyOfSigner } from './hypercore-head.js'
export {
  HEADS_TOPIC, MAX_HEADS_PER_ANNOUNCEMENT, MAX_HEADS_ANNOUNCEMENT_BYTES, headsAnnouncementSchema, headsAnnouncementCodec,
  encodeHeadsAnnouncement, decodeHeadsAnnouncement, type HeadsAnnouncement
} from './heads-announcement.js'
export {
  MAX_FORK_PROOF_BYTES, forkProofSchema, forkProofCodec, encodeForkProof, decodeForkProof, assertForkProof,
  verifyForkProof, makeForkProof, type ForkProof
} from './fork-proof.js'
export {
  CONSISTENCY_FORK_PROOF_VERSION, MAX_CONSISTENCY_NODES, MAX_CONSISTENCY_FORK_PROOF_BYTES, consistencyForkProofSchema,
  consistencyForkProofCodec, encodeConsistencyForkProof, decodeConsistencyForkProof, assertConsistencyForkProof,
  verifyConsistencyForkProof, makeConsistencyForkProof, proofNodes, type ConsistencyForkProof
} from './consistency-fork-proof.js'
export {
  MAX_ANY_FORK_PROOF_BYTES, anyForkProofCodec, encodeAnyForkProof, decodeAnyForkProof, assertAnyForkProof, verifyAnyForkProof,
  type AnyForkProof
} from './any-fork-proof.js'
export {
  MOVE_FORK_PROOF_VERSION, MAX_MOVE_FORK_PROOF_BYTES, MAX_MOVE_HISTORY, moveForkProofSchema, moveForkProofCodec, assertMoveForkProof,
  headOfMigrate, type MoveForkProof
} from './move-fork-proof.js'
export {
  FORKS_SYNC_PROTOCOL, MAX_PROOFS_PER_SYNC, MAX_FORKS_SYNC_REQUEST_BYTES, MAX_FORKS_SYNC_RESPONSE_BYTES,
  forksSyncRequestSchema, forksSyncResponseSchema, forksSyncRequestCodec, forksSyncResponseCodec,
  encodeForksSyncRequest, decodeForksSyncRequest, encodeForksSyncResponse, decodeForksSyncResponse,
  type ForksSyncRequest, type ForksSyncResponse
} from './forks-sync.js'
export {
  COSIGN_DOMAIN, MAX_COSIGNATURE_BYTES, cosignatureSchema, cosignatureCodec, encodeCosignature, decodeCosignature,
  cosignMessage, cosign, verifyCosignature, assertCosignature, type Cosignature
} from './cosignature.js'
export {
  APPEND_PROTOCOL, MAX_APPEND_REQUEST_BYTES, MAX_APPEND_RESPONSE_BYTES, appendRequestSchema, appendResponseSchema,
  appendRequestCodec, appendResponseCodec, encodeAppendRequest, decodeAppendRequest, encodeAppendResponse,
  decodeAppendResponse, type AppendRequest, type AppendResponse
} from './append.js'
export {
  HEADS_SYNC_PROTOCOL, MAX_HEADS_PER_SYNC, MAX_HEADS_SYNC_REQUEST_BYTES, MAX_HEADS_SYNC_RESPONSE_BYTES,
  headsSyncRequestSchema, headsSyncResponseSchema, headsSyncRequestCodec, headsSyncResponseCodec,
  encodeHeadsSyncRequest, decodeHeadsSyncRequest, encodeHeadsSyncResponse, decodeHeadsSyncResponse,
  type HeadsSyncRequest, type HeadsSyncResponse
} from './heads-sync.js'
export { writeFrame, readFrame, type FrameOptions } from './framing.js'
export {
  WITNESS_PROTOCOL, MAX_COSIGNATURES_PER_RESPONSE, MAX_WITNESS_REQUEST_BYTES, MAX_WITNESS_RESPONSE_BYTES,
  witnessRequestSchema, witnessResponseSchema, witnessRequestCodec, witnessResponseCodec,
  encodeWitnessRequest, decodeWitnessRequest, encodeWitnessResponse, decodeWitnessResponse,
  type WitnessRequest, type WitnessResponse
} from './witness.js'
export {
  MY_CHAIN_PROTOCOL, MAX_MY_CHAIN_REQUEST_BYTES, MAX_MY_CHAIN_RESPONSE_BYTES, MAX_MY_CHAIN_MESSAGE_CHARS,
  myChainRequestSchema, myChainResponseSchema, myChainRequestCodec, myChainResponseCodec,
  encodeMyChainRequest, decodeMyChainRequest, encodeMyChainResponse, decodeMyChainResponse,
  type MyChainRequest, type MyChainResponse
} from './my-chain.js'
