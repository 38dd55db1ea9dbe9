/** The CLI's side of the backup control socket (control-socket.ts): asks the node running on a data directory for a backup. */
import { connect } from 'node:net'
import { join } from 'node:path'
import { NodeError, type NodeErrorCode, NODE_ERROR_CODES } from '../errors.js'
import { CONTROL_PROTOCOL, CONTROL_SOCKET, type BackupSummary } from './control-socket.js'
import type { BackupProgress } from './create.js'

/**
 * Asks the node running on `dataDir` to write a backup to `out` (absolute).
 * Undefined when no node answers there (no socket, or a stale one: the node
 * is stopped); the node's refusal as a NodeError.
 */
export async function requestBackup (dataDir: string, out: string, onProgress: (p: BackupProgress) => void = () => {}): Promise<BackupSummary | undefined> {
  const socket = connect(join(dataDir, CONTROL_SOCKET))
  return await new Promise<BackupSummary | undefined>((resolve, reject) => {
    let connected = false
    let buffered = ''
    let settled = false
    const settle = (fn: () => void): void => { if (!settled) { settled = true; fn() } }
    socket.setEncoding('utf8')
    socket.on('connect', () => {
      connected = true
      socket.write(JSON.stringify({ v: CONTROL_PROTOCOL, op: 'backup', out }) + '\n')
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) settle(() => { resolve(undefined) })
      else settle(() => { reject(new NodeError('DATA_FILE', 'the node\'s control socket failed during the backup', { cause: err })) })
    })
    socket.on('data', (chunk: string) => {
      buffered += chunk
      let end: number
      while ((end = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, end)
        buffered = buffered.slice(end + 1)
        const message = JSON.parse(line) as { progress?: BackupProgress, ok?: BackupSummary, error?: { code: string, message: string } }
        if (message.progress !== undefined) onProgress(message.progress)
        if (message.ok !== undefined) settle(() => { resolve(message.ok) })
        if (message.error !== undefined) {
          const code = (NODE_ERROR_CODES as readonly string[]).includes(message.error.code) ? message.error.code as NodeErrorCode : 'INTERNAL'
          const error = message.error
          settle(() => { reject(new NodeError(code, error.message)) })
        }
      }
    })
    socket.on('close', () => { settle(() => { reject(new NodeError('DATA_FILE', 'the node closed its control socket before the backup ended')) }) })
  })
}
