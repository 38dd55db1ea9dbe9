/**
 * One Chart.js chart on a canvas, made when mounted, rebuilt when its
 * configuration changes and destroyed when unmounted. Only the parts of
 * Chart.js the console draws with are registered (a smaller bundle).
 */
import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LineController, LineElement, LinearScale, PointElement,
  ScatterController, Tooltip, type ChartConfiguration
} from 'chart.js'
import type { JSX } from 'preact'
import { useEffect, useRef } from 'preact/hooks'

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LineController, LineElement, LinearScale, PointElement, ScatterController, Tooltip)
// No animation: charts appear at once, and screenshots and tests see the final picture.
Chart.defaults.animation = false
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
Chart.defaults.color = '#334'

export function ChartCanvas (props: { config: ChartConfiguration, label: string, height?: number, testId?: string }): JSX.Element {
  const canvas = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    if (canvas.current === null) return
    const chart = new Chart(canvas.current, { ...props.config, options: { responsive: true, maintainAspectRatio: false, ...props.config.options } })
    return () => { chart.destroy() }
  }, [props.config])
  return (
    <div class='chart' style={{ height: `${props.height ?? 260}px` }} data-testid={props.testId}>
      <canvas ref={canvas} role='img' aria-label={props.label} />
    </div>
  )
}
