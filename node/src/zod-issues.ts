/** The one zod-issue translator lives in core (it reports core's and the network's schema failures too). */
export { describeIssue, summariseIssues, type IssueSummary } from '@healthchain/core'
