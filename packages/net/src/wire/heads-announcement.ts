/**
 * HeadsAnnouncement, wire version 1: custodians' signed heads, batched, as
 * published on the gossipsub topic `/healthchain/heads/1`.
 *
 *   { v: 1, heads: SignedHead[1..256] }
 *
 * Encoded size ≤ 73,485 bytes (256 continuation heads); the limit is 80 KiB. A receiver verifies each
 * head on its own (verifyHead): one bad head does not make the others bad,
 * and a relay may batch heads of several custodians.
 */
import { z } from 'zod'
import { defineCodec, versionSchema } from './codec.js'
import { signedHeadSchema } from './head.js'

export const HEADS_TOPIC = '/healthchain/heads/1'
export const MAX_HEADS_PER_ANNOUNCEMENT = 256
export const MAX_HEADS_ANNOUNCEMENT_BYTES = 80 * 1024

export const headsAnnouncementSchema = z.strictObject({
  v: versionSchema,
  heads: z.array(signedHeadSchema).min(1).max(MAX_HEADS_PER_ANNOUNCEMENT)
})

export type HeadsAnnouncement = z.output<typeof headsAnnouncementSchema>

export const headsAnnouncementCodec = defineCodec({
  name: 'HeadsAnnouncement',
  schema: headsAnnouncementSchema,
  maxBytes: MAX_HEADS_ANNOUNCEMENT_BYTES
})

export function encodeHeadsAnnouncement (message: HeadsAnnouncement): Uint8Array {
  return headsAnnouncementCodec.encode(message)
}

export function decodeHeadsAnnouncement (bytes: Uint8Array): HeadsAnnouncement {
  return headsAnnouncementCodec.decode(bytes)
}
