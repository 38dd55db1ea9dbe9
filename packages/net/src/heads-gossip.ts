/**
 * The heads service's two gossip topics, incoming. Gossipsub's validators
 * decide before delivery and relay: an announcement is accepted only if it
 * decodes and every head in it verifies, a fork proof only if it decodes and
 * verifies (either kind); a rejected message is never delivered here and
 * never relayed to other peers. What they accepted is handed on already
 * decoded, without verifying it twice: gossipsub delivers the very message
 * object it validated.
 */
import type { CryptoProvider } from '@healthchain/core'
import { TopicValidatorResult, type Message, type SubscriptionChangeData } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { HostServices } from './host.js'
import { decodeAnyForkProof, verifyAnyForkProof, type AnyForkProof } from './wire/any-fork-proof.js'
import { verifyHead, type SignedHead } from './wire/head.js'
import { HEADS_TOPIC, decodeHeadsAnnouncement } from './wire/heads-announcement.js'

export const FORKS_TOPIC = '/healthchain/forks/1'

export interface HeadsGossipInit {
  readonly pubsub: HostServices['pubsub']
  readonly crypto: CryptoProvider
  /** Counters the validators move (the heads service's stats). */
  readonly stats: { malformed: number, received: number, invalid: number }
  /** Heads of an accepted announcement, verified. */
  readonly onHeads: (heads: SignedHead[]) => void
  /** An accepted fork proof, verified. */
  readonly onForkProof: (proof: AnyForkProof) => void
}

/** Installs the validators and the listener and subscribes to both topics; returns what removes the validators and the listener. */
export function listenToHeadsGossip (init: HeadsGossipInit): () => void {
  const { pubsub, crypto, stats } = init
  /** What the validators decoded, by message. */
  const validated = new WeakMap<Message, SignedHead[]>()
  const validatedProofs = new WeakMap<Message, AnyForkProof>()
  const validateHeads = (message: Message): TopicValidatorResult => {
    let heads: SignedHead[]
    try {
      heads = decodeHeadsAnnouncement(message.data).heads
    } catch {
      stats.malformed++
      return TopicValidatorResult.Reject
    }
    const invalid = heads.filter((head) => !verifyHead(head, crypto)).length
    if (invalid > 0) {
      stats.received += heads.length
      stats.invalid += invalid
      return TopicValidatorResult.Reject
    }
    validated.set(message, heads)
    return TopicValidatorResult.Accept
  }
  const validateForkProof = (message: Message): TopicValidatorResult => {
    try {
      const proof = decodeAnyForkProof(message.data)
      if (verifyAnyForkProof(proof, crypto)) {
        validatedProofs.set(message, proof)
        return TopicValidatorResult.Accept
      }
    } catch {}
    stats.malformed++
    return TopicValidatorResult.Reject
  }
  // Messages gossipsub delivers have passed the validators above.
  const onMessage = (event: CustomEvent<Message>): void => {
    const message = event.detail
    if (message.topic === HEADS_TOPIC) {
      const heads = validated.get(message)
      if (heads !== undefined) init.onHeads(heads)
    } else if (message.topic === FORKS_TOPIC) {
      const proof = validatedProofs.get(message)
      if (proof !== undefined) init.onForkProof(proof)
    }
  }
  pubsub.topicValidators.set(HEADS_TOPIC, (_peer, message) => validateHeads(message))
  pubsub.topicValidators.set(FORKS_TOPIC, (_peer, message) => validateForkProof(message))
  pubsub.addEventListener('message', onMessage)
  pubsub.subscribe(HEADS_TOPIC)
  pubsub.subscribe(FORKS_TOPIC)
  return () => {
    pubsub.topicValidators.delete(HEADS_TOPIC)
    pubsub.topicValidators.delete(FORKS_TOPIC)
    pubsub.removeEventListener('message', onMessage)
  }
}

/**
 * Calls `onSubscriber` each time an admitted peer's subscription to the heads topic arrives: gossip published before
 * that reached no one there (heads-announcer.ts announces its recent heads again). Returns what removes the listener.
 */
export function onHeadsSubscriber (pubsub: HostServices['pubsub'], admits: (peer: PeerId) => boolean, onSubscriber: () => void): () => void {
  const listener = (event: CustomEvent<SubscriptionChangeData>): void => {
    const { peerId, subscriptions } = event.detail
    if (subscriptions.some((s) => s.topic === HEADS_TOPIC && s.subscribe) && admits(peerId)) onSubscriber()
  }
  pubsub.addEventListener('subscription-change', listener)
  return () => { pubsub.removeEventListener('subscription-change', listener) }
}
