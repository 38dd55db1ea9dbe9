/**
 * The running node's backup control: a Unix socket in its data directory
 * (`<dataDir>/control.sock`, mode 0600). The data directory is 0700, so only the
 * operating-system account that runs the node (its operator) can connect:
 * no API key or token is involved, and the socket is never on the network.
 * The socket's own mode is set too, so a data directory opened to a group
 * by mistake (or a permissive umask) does not open the socket with it.
 * `healthchain backup --dir` uses it when the node is running.
 *
 * Protocol (JSON lines, version 1): the client sends
 * `{"v":1,"op":"backup","out":"/absolute/file"}`; the node answers
 * `{"progress":{stage,done,total}}` lines, then `{"ok":manifest summary}` or
 * `{"error":{code,message}}`, and closes. One backup at a time. A request
 * not sent whole within CONTROL_REQUEST_TIMEOUT_MS is dropped; progress
 * lines a client does not read are skipped past a small buffer (the backup
 * never waits for its client, so a client that never reads holds nothing).
 */
import { createServer, type Server, type Socket } from 'node:net'
import { chmod, rm } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import { NodeError } from '../errors.js'
import { createBackup, type BackupProgress, type BackupSource } from './create.js'

export const CONTROL_SOCKET = 'control.sock'
export const CONTROL_PROTOCOL = 1
const MAX_REQUEST_BYTES = 8192
/** How long a client has to send its request line. */
export const CONTROL_REQUEST_TIMEOUT_MS = 5000
/** Unread progress beyond this is skipped (the final answer is always sent): a client that never reads costs no memory. */
const MAX_UNREAD_PROGRESS_BYTES = 64 * 1024

export interface BackupSummary {
  readonly out: string
  readonly node: string
  readonly createdAt: string
  readonly chains: number
  readonly parts: number
}

export interface ControlSocket {
  readonly path: string
  close (): Promise<void>
}

function send (socket: Socket, message: unknown): void {
  if (!socket.destroyed) socket.write(JSON.stringify(message) + '\n')
}

function sendProgress (socket: Socket, progress: BackupProgress): void {
  if (socket.writableLength <= MAX_UNREAD_PROGRESS_BYTES) send(socket, { progress })
}

/** Listens on `<dataDir>/control.sock` (a stale socket file from a crash is replaced: the store's lock says no other node runs here). */
export async function listenControlSocket (source: BackupSource): Promise<ControlSocket> {
  const path = join(source.layout.root, CONTROL_SOCKET)
  await rm(path, { force: true })
  let busy = false
  const server: Server = createServer((socket) => {
    let input = ''
    socket.setEncoding('utf8')
    socket.on('error', () => {})
    const deadline = setTimeout(() => { socket.destroy() }, CONTROL_REQUEST_TIMEOUT_MS)
    socket.on('close', () => { clearTimeout(deadline) })
    socket.on('data', (chunk: string) => {
      input += chunk
      if (input.length > MAX_REQUEST_BYTES) { socket.destroy(); return }
      const end = input.indexOf('\n')
      if (end === -1) return
      clearTimeout(deadline)
      socket.removeAllListeners('data')
      void handle(socket, input.slice(0, end))
    })
  })
  const handle = async (socket: Socket, line: string): Promise<void> => {
    try {
      let request: { v?: unknown, op?: unknown, out?: unknown }
      try {
        request = JSON.parse(line) as typeof request
      } catch {
        throw new NodeError('BAD_REQUEST', 'the control request is not JSON')
      }
      if (typeof request !== 'object' || request === null || Array.isArray(request)) throw new NodeError('BAD_REQUEST', 'the control request is not a JSON object')
      if (request.v !== CONTROL_PROTOCOL) throw new NodeError('BAD_REQUEST', `control protocol ${String(request.v)} is not spoken here (${CONTROL_PROTOCOL} is)`)
      if (request.op !== 'backup' || typeof request.out !== 'string' || !isAbsolute(request.out)) {
        throw new NodeError('BAD_REQUEST', 'expected {"v":1,"op":"backup","out":"<absolute path>"}')
      }
      if (busy) throw new NodeError('BACKUP_BUSY', 'a backup of this node is under way; try again when it ends')
      busy = true
      try {
        const manifest = await createBackup(source, request.out, (p: BackupProgress) => { sendProgress(socket, p) })
        const summary: BackupSummary = {
          out: request.out, node: manifest.node, createdAt: manifest.createdAt, chains: manifest.chains.length, parts: manifest.parts.length
        }
        send(socket, { ok: summary })
      } finally {
        busy = false
      }
    } catch (err) {
      const code = err instanceof NodeError ? err.code : 'INTERNAL'
      const message = err instanceof Error ? err.message : String(err)
      send(socket, { error: { code, message } })
    } finally {
      socket.end()
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => { server.off('error', reject); resolve() })
  })
  try {
    await chmod(path, 0o600)
  } catch (cause) {
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    throw new NodeError('DATA_FILE', `the control socket ${path} cannot be made owner-only`, { cause })
  }
  return {
    path,
    async close () {
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
      await rm(path, { force: true })
    }
  }
}
