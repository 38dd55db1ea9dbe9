/**
 * A measurement over the years: one line across every institution that
 * measured it, the reference range as a shaded band, values outside it
 * drawn as red diamonds. The points are listed in a table too (the chart is
 * for the eye, the table for exact values and screen readers).
 */
import type { ChartConfiguration } from 'chart.js'
import type { JSX } from 'preact'
import { useMemo } from 'preact/hooks'
import { formatDate } from '../ui/components.js'
import { ChartCanvas } from './chart-canvas.js'

export interface SeriesChartPoint {
  readonly time: number
  readonly value: number
  /** The institution that measured it. */
  readonly source: string
}

export interface ReferenceRange { readonly low?: number | undefined, readonly high?: number | undefined }

export function isOutOfRange (value: number, range: ReferenceRange | undefined): boolean {
  if (range === undefined) return false
  return (range.low !== undefined && value < range.low) || (range.high !== undefined && value > range.high)
}

export function SeriesChart (props: {
  title: string
  unit: string
  points: readonly SeriesChartPoint[]
  range?: ReferenceRange | undefined
  testId?: string
}): JSX.Element {
  const { points, range, unit } = props
  const config = useMemo((): ChartConfiguration => {
    const sorted = [...points].sort((a, b) => a.time - b.time)
    const xs = sorted.map((p) => p.time)
    const minX = Math.min(...xs)
    const maxX = Math.max(...xs)
    const pad = Math.max((maxX - minX) * 0.04, 86_400_000 * 15)
    const band = (y: number | undefined): Array<{ x: number, y: number }> =>
      y === undefined ? [] : [{ x: minX - pad, y }, { x: maxX + pad, y }]
    const out = sorted.map((p) => isOutOfRange(p.value, range))
    return {
      type: 'line',
      data: {
        datasets: [
          ...(range?.high !== undefined && range.low !== undefined
            ? [
                { label: 'reference high', data: band(range.high), borderColor: 'rgba(35,140,90,0.5)', borderWidth: 1, pointRadius: 0, fill: '+1', backgroundColor: 'rgba(35,140,90,0.12)' },
                { label: 'reference low', data: band(range.low), borderColor: 'rgba(35,140,90,0.5)', borderWidth: 1, pointRadius: 0, fill: false }
              ]
            : [
                ...(range?.high !== undefined ? [{ label: 'reference high', data: band(range.high), borderColor: 'rgba(35,140,90,0.6)', borderDash: [4, 4], pointRadius: 0 }] : []),
                ...(range?.low !== undefined ? [{ label: 'reference low', data: band(range.low), borderColor: 'rgba(35,140,90,0.6)', borderDash: [4, 4], pointRadius: 0 }] : [])
              ]),
          {
            label: `${props.title} (${unit})`,
            data: sorted.map((p) => ({ x: p.time, y: p.value })),
            borderColor: '#0f5c63',
            backgroundColor: sorted.map((_, i) => out[i] === true ? '#c0392b' : '#0f5c63'),
            pointStyle: sorted.map((_, i) => out[i] === true ? 'rectRot' : 'circle'),
            pointRadius: sorted.map((_, i) => out[i] === true ? 7 : 4),
            tension: 0.2
          }
        ]
      },
      options: {
        parsing: false,
        scales: {
          x: { type: 'linear', min: minX - pad, max: maxX + pad, ticks: { maxTicksLimit: 6, callback: (v) => formatDate(Number(v)) } },
          y: { title: { display: true, text: unit } }
        },
        plugins: {
          // The card around the chart names the measure; a legend would only repeat it (in the first point's colour).
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: (items) => items[0] === undefined ? '' : formatDate(items[0].parsed.x ?? 0),
              label: (item) => {
                const p = sorted[item.dataIndex]
                return p === undefined || item.dataset.label?.startsWith('reference') === true ? String(item.parsed.y) : `${p.value} ${unit} · ${p.source}`
              }
            }
          }
        }
      }
    }
  }, [points, range, unit, props.title])
  return <ChartCanvas config={config} label={`${props.title} over time`} {...(props.testId === undefined ? {} : { testId: props.testId })} />
}
