/**
 * The patient's writes: built and signed in this tab, sent to the node,
 * queued when the node does not answer.
 *
 *   submit(entry)     queue it (IndexedDB), then send it:
 *                       accepted          → out of the queue
 *                       NODE_UNREACHABLE  → stays queued, "waiting to send"
 *                       any other refusal → out of the queue, the refusal shown
 *   send              sign for the chain's length, POST { entry, seq }; after
 *                     STALE_POSITION sign again for the new length (the
 *                     client's sendSigned). The entry id never changes, so a
 *                     write the node appended before its answer was lost is
 *                     answered `duplicate: true` when sent again: appended once.
 *   flush             every queued write, oldest first, one flush at a time;
 *                     run by a retry timer, the browser's `online` event and
 *                     at sign-in. After an outage the node may have restarted,
 *                     which ends every token: the session is renewed first,
 *                     the challenge signed again with the keys in memory.
 */
import { bytesToHex, encodeEntry, fromHex, type UnsignedEntry, type UserKeys } from '@healthchain/core'
import { sendSigned, signUserEntry } from '@healthchain/client/user-side'
import {
  chainSummarySchema, challengeSchema, sessionSchema, signLogin, statusSchema, writeReplySchema, type WriteReply
} from '@healthchain/node/api'
import { useEffect, useState } from 'preact/hooks'
import { ApiFailure, isApiFailure, request } from '../api.js'
import { crypto } from '../crypto.js'
import { currentSession, startSession, type Session } from '../session.js'
import { userOf } from './chain.js'
import { putWrite, queuedWriteOf, queuedWrites, removeWrite, unsignedOf } from './outbox-store.js'

export interface OutboxState {
  /** Writes kept on this device, waiting for the node. */
  readonly waiting: number
  /** The node did not answer the last attempt. */
  readonly unreachable: boolean
  /** Writes sent from the queue since the page opened. */
  readonly sent: number
}

let state: OutboxState = { waiting: 0, unreachable: false, sent: 0 }
const listeners = new Set<() => void>()
function set (next: Partial<OutboxState>): void {
  state = { ...state, ...next }
  for (const l of listeners) l()
}

export function useOutbox (): OutboxState {
  const [, tick] = useState(0)
  useEffect(() => {
    const l = (): void => tick((n) => n + 1)
    listeners.add(l)
    return () => { listeners.delete(l) }
  }, [])
  return state
}

const unreachable = (err: unknown): boolean => isApiFailure(err) && err.code === 'NODE_UNREACHABLE'

/** Signs `unsigned` for the chain's next position and sends it; re-signs after STALE_POSITION. */
export async function sendEntry (session: Session, unsigned: UnsignedEntry): Promise<WriteReply> {
  const user = userOf(session)
  const path = `/v1/users/${encodeURIComponent(user.userId)}`
  const summary = await request('GET', path, chainSummarySchema, { token: session.token })
  const chainKey = fromHex(summary.chainKey, 32, 'chainKey')
  let known: number | undefined = summary.length
  return await sendSigned<WriteReply>({
    length: async () => {
      const length = known ?? (await request('GET', path, chainSummarySchema, { token: session.token })).length
      known = undefined
      return length
    },
    sign: (seq) => signUserEntry(unsigned, user, { chainKey, seq }, crypto),
    send: async (entry, seq) => {
      try {
        return { accepted: await request('POST', `${path}/entries`, writeReplySchema, { token: session.token, body: { entry: bytesToHex(encodeEntry(entry)), seq } }) }
      } catch (err) {
        if (isApiFailure(err) && err.code === 'STALE_POSITION') return { stale: true, cause: err }
        throw err
      }
    }
  })
}

async function storeAvailable<T> (work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work()
  } catch {
    return undefined
  }
}

export type SubmitResult = { readonly sent: WriteReply } | { readonly queued: true }

/** Queues and sends one write (see the file comment). Throws the node's refusal of it. */
export async function submit (session: Session, unsigned: UnsignedEntry, label: string): Promise<SubmitResult> {
  const user = userOf(session)
  const queued = queuedWriteOf(user.userId, unsigned, label)
  const stored = await storeAvailable(async () => { await putWrite(queued); return true })
  try {
    const sent = await sendEntry(session, unsigned)
    if (stored === true) await storeAvailable(async () => { await removeWrite(queued.key) })
    set({ unreachable: false })
    return { sent }
  } catch (err) {
    if (unreachable(err) && stored === true) {
      set({ unreachable: true })
      await refreshCount(user.userId)
      return { queued: true }
    }
    if (stored === true) await storeAvailable(async () => { await removeWrite(queued.key) })
    throw err
  }
}

async function refreshCount (userId: string): Promise<number> {
  const waiting = (await storeAvailable(async () => await queuedWrites(userId)))?.length ?? 0
  set({ waiting })
  return waiting
}

/** A new token for the same patient, the node's challenge signed with the keys in memory (the phrase is not needed again). */
export async function renewSession (session: Session, user: UserKeys): Promise<Session> {
  const node = await request('GET', '/v1/status', statusSchema)
  const { challenge } = await request('POST', '/v1/session/challenge', challengeSchema, { body: { userId: user.userId } })
  const signature = signLogin(node.name as Parameters<typeof signLogin>[0], fromHex(challenge, 32, 'challenge'), user.sign.secretKey, crypto)
  const reply = await request('POST', '/v1/session', sessionSchema, { body: { userId: user.userId, challenge, signature: bytesToHex(signature) } })
  const renewed: Session = { ...session, token: reply.token, expiresAt: reply.expiresAt, node: { name: node.name, role: node.role } }
  startSession(renewed)
  return renewed
}

let flushing: Promise<void> | undefined

/** Sends every queued write of the signed-in patient, oldest first; one flush at a time. */
export async function flush (): Promise<void> {
  flushing ??= flushOnce().finally(() => { flushing = undefined })
  await flushing
}

async function flushOnce (): Promise<void> {
  let session = currentSession()
  if (session?.user === undefined) return
  const user = session.user
  const writes = await storeAvailable(async () => await queuedWrites(user.userId)) ?? []
  set({ waiting: writes.length })
  if (writes.length === 0 && !state.unreachable) return
  try {
    if (state.unreachable) {
      // The node answered nothing before: it may have restarted since, which ends every token.
      session = await renewSession(session, user)
      set({ unreachable: false })
    }
    for (const write of writes) {
      try {
        await sendEntry(session, unsignedOf(write))
        set({ sent: state.sent + 1 })
      } catch (err) {
        if (unreachable(err)) throw err
        // Refused for good (the entry itself is wrong): kept no longer, since retrying cannot change the answer.
        console.warn(`a queued ${write.type} write was refused: ${isApiFailure(err) ? err.code : 'error'}`)
      }
      await removeWrite(write.key)
      await refreshCount(user.userId)
    }
  } catch (err) {
    if (unreachable(err)) set({ unreachable: true })
    else if (!(err instanceof ApiFailure)) throw err
  }
}

const RETRY_MS = 3000

/** While mounted: flush at once (sign-in), on the browser's `online` event, and every few seconds while writes wait. */
export function useOutboxSender (userId: string): OutboxState {
  const outbox = useOutbox()
  useEffect(() => {
    void refreshCount(userId).then(async () => { await flush() })
    const online = (): void => { void flush() }
    addEventListener('online', online)
    const timer = setInterval(() => { if (state.waiting > 0 || state.unreachable) void flush() }, RETRY_MS)
    return () => { removeEventListener('online', online); clearInterval(timer) }
  }, [userId])
  return outbox
}
