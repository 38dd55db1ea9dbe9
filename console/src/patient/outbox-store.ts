/**
 * The patient's offline queue in IndexedDB: writes the node could not be
 * reached for, kept until it answers. The only health data the console
 * ever stores, and only the patient's own: per write its entry id, type, a
 * label, and the unsigned entry's canonical body (what is signed again for
 * the chain's position when it is sent). Never the phrase, never a key,
 * never a signature (a signature is bound to a position, made at send).
 * Keyed by user id, so two patients on one device never see each other's.
 */
import { ENTRY_VERSION, bytesToHex, decodeCanonical, encodeEntryBody, fromHex, parseUnsignedEntry, type UnsignedEntry } from '@healthchain/core'

const DB_NAME = 'healthchain-outbox'
const STORE = 'writes'

export interface QueuedWrite {
  /** userId:entryId */
  readonly key: string
  readonly userId: string
  /** The entry id, hex: the same however often the entry is re-signed, so the node appends it once. */
  readonly id: string
  readonly type: string
  /** What the patient is told about it ("Exercise, 12 Mar"). */
  readonly label: string
  /** The unsigned entry's canonical body (no version, no signature), hex. */
  readonly body: string
  readonly queuedAt: number
}

let opening: Promise<IDBDatabase> | undefined

function db (): Promise<IDBDatabase> {
  opening ??= new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1)
    req.onupgradeneeded = () => {
      const store = req.result.createObjectStore(STORE, { keyPath: 'key' })
      store.createIndex('userId', 'userId')
    }
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => { opening = undefined; reject(req.error ?? new Error('IndexedDB did not open')) }
  })
  return opening
}

async function run<T> (mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const database = await db()
  return await new Promise<T>((resolve, reject) => {
    const tx = database.transaction(STORE, mode)
    const req = work(tx.objectStore(STORE))
    tx.oncomplete = () => resolve(req.result)
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'))
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'))
  })
}

export function queuedWriteOf (userId: string, unsigned: UnsignedEntry, label: string): QueuedWrite {
  const id = bytesToHex(unsigned.id)
  return { key: `${userId}:${id}`, userId, id, type: unsigned.type, label, body: bytesToHex(encodeEntryBody(unsigned)), queuedAt: Date.now() }
}

/** The unsigned entry a queued write holds, validated again by core. */
export function unsignedOf (write: QueuedWrite): UnsignedEntry {
  const body = decodeCanonical(fromHex(write.body, write.body.length / 2, 'body')) as Record<string, unknown>
  return parseUnsignedEntry({ v: ENTRY_VERSION, ...body })
}

export async function putWrite (write: QueuedWrite): Promise<void> {
  await run('readwrite', (s) => s.put(write))
}

export async function removeWrite (key: string): Promise<void> {
  await run('readwrite', (s) => s.delete(key))
}

/** The user's queued writes, oldest first. */
export async function queuedWrites (userId: string): Promise<QueuedWrite[]> {
  const all = await run<QueuedWrite[]>('readonly', (s) => s.index('userId').getAll(userId) as IDBRequest<QueuedWrite[]>)
  return all.sort((a, b) => a.queuedAt - b.queuedAt)
}
