/**
 * What a signed head needs from Hypercore. The internals it rests on (the
 * stored head signature, hypercore's signed layout) are read in one place,
 * packages/ledger/src/tree-audit.ts, whose tests fail first if an upgrade
 * of the pinned hypercore moves them; this module only re-exports them.
 */
export { coreKeyOfSigner, rawHeadSignature, storedHead, storedTreeHash, treeSignable, writerHead, type StoredHead } from '@healthchain/ledger'
