/**
 * Bars by category (days, weeks, periods), one or more series. A missing
 * value (null: not measured, or a small cell the node would not disclose)
 * draws no bar at all, never a bar of zero: the caller labels the category.
 */
import type { ChartConfiguration } from 'chart.js'
import type { JSX } from 'preact'
import { useMemo } from 'preact/hooks'
import { ChartCanvas } from './chart-canvas.js'

export interface BarSeries {
  readonly label: string
  /** One value per category; null: suppressed or missing. */
  readonly values: ReadonlyArray<number | null>
  readonly color?: string
}

const PALETTE = ['#0f5c63', '#d98e04', '#5a4fcf', '#2b8a3e', '#c0392b']

export function BarChart (props: { categories: readonly string[], series: readonly BarSeries[], unit?: string, label: string, testId?: string }): JSX.Element {
  const config = useMemo((): ChartConfiguration => ({
    type: 'bar',
    data: {
      labels: [...props.categories],
      datasets: props.series.map((s, i) => ({
        label: s.label,
        data: [...s.values],
        backgroundColor: s.color ?? PALETTE[i % PALETTE.length]
      }))
    },
    options: {
      scales: { y: { beginAtZero: true, ...(props.unit === undefined ? {} : { title: { display: true, text: props.unit } }) } },
      plugins: { legend: { display: props.series.length > 1 } }
    }
  }), [props.categories, props.series, props.unit])
  return <ChartCanvas config={config} label={props.label} {...(props.testId === undefined ? {} : { testId: props.testId })} />
}
