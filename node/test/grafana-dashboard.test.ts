/**
 * docker/grafana-dashboard.json names only metrics a node exports: every
 * panel's query, and the node variable's, is checked against the metric
 * names of a real node's registry (with a histogram's _bucket, _sum and
 * _count series).
 */
import { readFile } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { startConsortium, type TestConsortium } from './helpers/daemons.js'

let net: TestConsortium | undefined
afterEach(async () => { await net?.close(); net = undefined })

const PROMQL_WORDS = new Set(['sum', 'rate', 'histogram_quantile', 'label_values', 'node'])

describe('the Grafana dashboard', () => {
  it('queries only metric names the node exports, and shows every healthchain metric but the constant ones', async () => {
    const dashboard = JSON.parse(await readFile(new URL('../../docker/grafana-dashboard.json', import.meta.url), 'utf8'))
    net = await startConsortium([['hospital-a', 'examiner']])
    const metrics = await net.node('hospital-a').daemon.metrics.registry.getMetricsAsJSON()
    const exported = new Set<string>()
    for (const m of metrics) {
      exported.add(m.name)
      if (m.type.toString() === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(m.name + suffix)
    }
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: Array<{ expr: string }> }) => p.targets.map((t) => t.expr))
    exprs.push(dashboard.templating.list.find((v: { name: string }) => v.name === 'node').query)
    expect(exprs.length).toBeGreaterThan(10)
    const used = new Set<string>()
    for (const expr of exprs) {
      // Metric names are the identifiers outside label matchers, grouping clauses and range selectors.
      const names = expr.replace(/\{[^}]*\}/g, '').replace(/\bby \([^)]*\)/g, '').replace(/\[[^\]]*\]/g, '').match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []
      for (const name of names.filter((n) => !PROMQL_WORDS.has(n) && n.startsWith('healthchain_'))) {
        expect(exported, `${name} in ${expr}`).toContain(name)
        used.add(name.replace(/_(bucket|sum|count)$/, ''))
      }
      expect(names.filter((n) => !PROMQL_WORDS.has(n) && !n.startsWith('healthchain_')), expr).toEqual([])
    }
    // Every metric of the node's own (not the process's defaults) has a panel.
    const own = [...exported].filter((n) => n.startsWith('healthchain_') && !n.startsWith('healthchain_process_') && !n.startsWith('healthchain_nodejs_'))
    for (const name of own.filter((n) => !/_(bucket|sum|count)$/.test(n))) expect(used, name).toContain(name)
  })
})
