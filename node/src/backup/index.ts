/** Backup and restore of a node's data directory (keys, store, audit log); the query index is rebuilt, not backed up. */
export { BACKUP_FORMAT, BACKUP_MAGIC, readArchive, writeArchive, type BackupManifest, type BackupPart, type PartSource } from './archive.js'
export { createBackup, type BackupProgress, type BackupSource } from './create.js'
export { checkBackup, restoreBackup, verifyRestored, RESTORED_MARKER, type RestoreCheck } from './restore.js'
export { holdIfRestored, readRestoredMarker, type RestoredMarker, type RestoreHoldOptions } from './catch-up.js'
export { listenControlSocket, CONTROL_SOCKET, CONTROL_PROTOCOL, CONTROL_REQUEST_TIMEOUT_MS, type BackupSummary, type ControlSocket } from './control-socket.js'
export { requestBackup } from './control-client.js'
