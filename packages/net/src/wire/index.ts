/**
 * The network's wire formats, version 1: every message is a canonical CBOR
 * map with `v: 1` (codec.ts), one module per message family. See
 * packages/net/README.md ("Wire formats") for the table of layouts.
 */
export { WIRE_VERSION, compareBytes, type Codec } from './codec.js'
export {
  MAX_SIGNED_HEAD_BYTES, signedHeadSchema, signedHeadCodec, encodeSignedHead, decodeSignedHead,
  headSignable, verifyHead, assertHead, headOf, type SignedHead
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
