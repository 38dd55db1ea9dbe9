export { NODE_ERROR_CODES, NodeError, ConfigError, isNodeError, type NodeErrorCode, type ConfigErrorCode, type RefusalReason } from './errors.js'
export {
  loadConfig, parseConfig, configSchema, ENV_OVERRIDES, defaultConsoleDir,
  DEFAULT_API_HOST, DEFAULT_API_PORT, DEFAULT_BODY_LIMIT, DEFAULT_TOKEN_TTL_SECONDS, DEFAULT_CHALLENGE_TTL_SECONDS, DEFAULT_P2P_LISTEN,
  DEFAULT_RATE_LIMIT_WINDOW_SECONDS, DEFAULT_RATE_LIMIT_LOGINS, DEFAULT_RATE_LIMIT_REQUESTS, DEFAULT_AUDIT_WINDOW_SECONDS, DEFAULT_AUDIT_MAX_GROUPS,
  DEFAULT_P2P_INBOUND_CONNECTIONS_PER_SECOND, DEFAULT_P2P_REPLICATE_ALL, DEFAULT_CHAIN_IDLE_MS, MAX_WORKERS,
  DEFAULT_ENROLMENT_TICKET_TTL_SECONDS, DEFAULT_MAX_OPEN_ENROLMENT_TICKETS,
  type NodeConfig, type ConsoleConfig, type RateLimitConfig, type Env, type ParseConfigOptions
} from './config.js'
export { dataDirLayout, prepareDataDir, type DataDirLayout } from './data-dir.js'
export { ApiKeyStore, apiKeyIdOf, API_KEY_PREFIX, type ApiKeyRecord, type ApiKeyIdentity, type CreatedApiKey, type ApiKeyStoreOptions } from './auth/api-keys.js'
export { TokenStore, TOKEN_PREFIX, DEFAULT_MAX_TOKENS, type Principal, type Session, type IssuedToken, type TokenStoreInit } from './auth/tokens.js'
export {
  ChallengeStore, loginMessage, signLogin, LOGIN_DOMAIN, LOGIN_VERSION, LOGIN_NONCE_BYTES, MAX_FAILED_PER_USER, LOGIN_REFUSAL_FLOOR_MS,
  type LookupUserKey, type LookupUserGeneration, type IssuedChallenge, type UserChallenge, type ChallengeResponse,
  type ChallengeStoreComponents, type ChallengeStoreInit
} from './auth/challenge.js'
export { Sessions, actorOf, type SessionsComponents, type SessionsInit, type Login } from './auth/sessions.js'
export {
  AuditLog, AUDIT_LOG_CORE,
  type AuditHead, type AuditReport, type AuditProblem, type AuditProblemCode, type AuditVerifyOptions, type AuditLogOptions, type PositionedAuditLine
} from './audit/audit-log.js'
export {
  encodeAuditLine, decodeAuditLine, auditLineSchema, AUDIT_ACTIONS, AUDIT_RESULTS, AUDIT_LINE_VERSION, MAX_AUDIT_LINE_BYTES,
  type AuditLine, type AuditLineInput, type AuditAction, type AuditResult
} from './audit/audit-line.js'
export { AuditAggregator, OTHER_SOURCES, type AuditAggregatorInit, type AuditLineWriter } from './audit/audit-aggregator.js'
export { auditSourceOf } from './audit/audit-source.js'
export type { AuditAppendOptions } from './audit/audit-sink.js'
export { auditNetworkLogins } from './audit/network-logins.js'
export { createServer, DEFAULT_API_RATE_LIMIT, type ServerComponents, type ServerInit } from './http/server.js'
export type { ApiRateLimit } from './http/rate-limit.js'
export { CONTENT_SECURITY_POLICY, SECURITY_HEADERS } from './http/security-headers.js'
export { registerConsoleRoutes, type ConsoleRoutesDeps } from './http/routes/console.js'
export { requireAuth, sessionOf, BEARER_SECURITY, type RequireAuthOptions, type GuardedRouteOptions } from './http/auth.js'
export { STATUS_OF, toHttpError, errorBodySchema, type ErrorBody, type HttpError } from './http/errors.js'
export type { AuditRouteConfig, AuditSink } from './http/audit-hook.js'
export type { StatusProvider } from './http/routes/status.js'
export type { StatusFields, NodeStatusReport } from './api/node.js'
export type { App, RouteModule } from './http/types.js'
export { Daemon, type DaemonOptions } from './daemon.js'
export { QueryIndex, INDEX_FILE_NAME, type QueryIndexInit, type IndexResult, type RebuildProgress, type RebuildResult } from './query-index/index.js'
export { PgQueryIndex, SqliteIndexBackend, openQueryIndex, type QueryIndexBackend, type IndexConfig } from './query-index/index.js'
export { createNodeContext, type NodeContext, type NodeContextOptions, type NodeServices } from './context.js'
export { createExamSealer, defaultSealWorkers, type ExamSealer, type SealJob } from './sealing/exam-sealer.js'
export {
  loadOrCreateNodeKeys, readOrCreatePartyKeys, readInstitutionGenerations, rotateInstitutionKeys, institutionKeysFile, p2pKeyFile, type NodeKeys
} from './node-keys.js'
export { InstitutionKeyring, type InstitutionKeyringComponents } from './institution-keyring.js'
export { createConsortium, admitInstitutions, admissionOf, signRegistryEntryFor, governanceKeyFile, type InstitutionSpec } from './consortium.js'
export { registerChainRoutes, type ChainRoutesDeps } from './http/routes/chains.js'
export { registerRegistryRoutes, type RegistryRoutesDeps } from './http/routes/registry.js'
export { registerNetworkRoutes, type NetworkRoutesDeps } from './http/routes/network.js'
export { registerCustodyRoutes, type CustodyRoutesDeps } from './http/routes/custody.js'
export { registerEnrolmentRoutes, type EnrolmentRoutesDeps } from './http/routes/enrolments.js'
export {
  createEnrolmentService, newEnrolmentCode, TICKET_REFUSAL_FLOOR_MS,
  type EnrolmentService, type EnrolmentsComponents, type EnrolmentsInit, type TicketUse
} from './services/enrolments.js'
export { createAccessPolicy, type AccessPolicy, type AccessComponents, type Caller } from './services/access.js'
export { createChainService, type ChainService, type ChainsComponents, type ExamInput, type ReadOptions } from './services/chains.js'
export { createCustodyService, type CustodyService, type CustodyComponents } from './services/custody.js'
export { createInsightService, type InsightService, type InsightsComponents } from './services/insights.js'
export { createFhirService, type FhirService, type FhirComponents } from './services/fhir.js'
export { createBatchService, type BatchService, type BatchComponents, type BatchInit, type ItemOutcome } from './services/batch.js'
export { createRegistryService, type RegistryService, type RegistryComponents } from './services/registry.js'
export { createAuditService, type AuditService, type AuditComponents } from './services/audit.js'
export { createNetworkService, MAX_LAG_LOOKUPS, type NetworkService, type NetworkServiceComponents } from './services/network.js'
export { viewOf, grantedKeysFor, toJson, type EntryView, type SealedView } from './services/entry-view.js'
export {
  createBackup, checkBackup, restoreBackup, verifyRestored, readArchive, requestBackup, BACKUP_FORMAT, RESTORED_MARKER,
  holdIfRestored, readRestoredMarker, CONTROL_SOCKET, CONTROL_REQUEST_TIMEOUT_MS,
  type BackupManifest, type BackupProgress, type BackupSummary, type RestoreCheck, type RestoredMarker, type RestoreHoldOptions
} from './backup/index.js'
