/**
 * `@healthchain/net/browser`: what a browser needs of the network layer, without
 * libp2p, Hypercore, sodium or any Node built-in — checking signed heads and
 * witnesses' cosignatures with core's noble crypto provider.
 */
export {
  coreKeyOfSigner, headSignable, cosignMessage, verifyHead, verifyCosignature, headFromJson, cosignatureFromJson,
  type HeadFields, type CosignatureFields, type HeadJson, type CosignatureJson
} from './head-check.js'
