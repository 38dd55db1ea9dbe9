/**
 * The CLI's building blocks, for scripts and tools that drive nodes the way
 * the `healthchain` command does (the narrated demo, the chaos run): the typed
 * API client and its logins, a user's device over HTTP, the development
 * network's layout, the CLI's errors and the audit report's rendering.
 * Entry point: `@healthchain/node/cli`; the schemas its answers are parsed
 * with are the API contract's, `@healthchain/node/api`.
 */
export { ApiClient, loginAsUser, loginWithApiKey, DEFAULT_TIMEOUT_MS, type RequestOptions } from './api-client.js'
export {
  enrolUser, examinerBoxOf, grantExaminer, openEnvelope, postUserEntry, writeAsUser, readUserKeys, readPhraseFile
} from './user-device.js'
export { loginWithPhrase, openAllWith, rotateKeys, transferChain, type PhraseSession } from './user-custody.js'
export {
  DEFAULT_DEV_DIR, DEFAULT_BASE_PORT, DEV_HOST, MIN_BASE_PORT, MAX_BASE_PORT, DEV_NODES,
  devPaths, devPorts, readDevManifest, type DevManifest, type DevPaths, type DevPorts
} from './dev/layout.js'
export { ApiError, CliError, CLI_ERROR_CODES, failureOf, findCause, type CliErrorCode, type Failure } from './errors.js'
export { renderAudit } from './commands/audit.js'
