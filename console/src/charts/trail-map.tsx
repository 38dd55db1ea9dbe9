/**
 * Location trails drawn on a plain grid, without map tiles (the console
 * never asks anything of another origin): an equirectangular projection
 * around the trails' centre, a scale bar in metres, one colour per trail,
 * and optional highlighted points (for example where two people met).
 */
import type { JSX } from 'preact'

export interface TrailPoint { readonly lat: number, readonly lon: number, readonly time?: number }
export interface Trail { readonly label: string, readonly points: readonly TrailPoint[], readonly color?: string }

const COLORS = ['#0f5c63', '#d98e04', '#5a4fcf', '#2b8a3e', '#c0392b', '#8e44ad']
const METRES_PER_DEGREE = 111_320
const WIDTH = 640
const HEIGHT = 400
const PAD = 24

function niceLength (metres: number): number {
  const p = 10 ** Math.floor(Math.log10(metres))
  for (const m of [5, 2, 1]) if (m * p <= metres) return m * p
  return p
}

export function TrailMap (props: { trails: readonly Trail[], highlights?: readonly TrailPoint[], label: string, testId?: string }): JSX.Element {
  const all = [...props.trails.flatMap((t) => t.points), ...(props.highlights ?? [])]
  if (all.length === 0) return <p class='muted'>No locations to draw.</p>
  const lat0 = all.reduce((s, p) => s + p.lat, 0) / all.length
  const cos = Math.cos((lat0 * Math.PI) / 180)
  // Metres east and north of the centre.
  const xy = (p: TrailPoint): [number, number] => [p.lon * cos * METRES_PER_DEGREE, p.lat * METRES_PER_DEGREE]
  const pts = all.map(xy)
  const minX = Math.min(...pts.map((p) => p[0]))
  const maxX = Math.max(...pts.map((p) => p[0]))
  const minY = Math.min(...pts.map((p) => p[1]))
  const maxY = Math.max(...pts.map((p) => p[1]))
  const span = Math.max(maxX - minX, maxY - minY, 50)
  const scale = Math.min((WIDTH - 2 * PAD) / Math.max(maxX - minX, span * 0.2), (HEIGHT - 2 * PAD) / Math.max(maxY - minY, span * 0.2))
  const cx = (minX + maxX) / 2
  const cy = (minY + maxY) / 2
  const screen = (p: TrailPoint): [number, number] => {
    const [x, y] = xy(p)
    return [WIDTH / 2 + (x - cx) * scale, HEIGHT / 2 - (y - cy) * scale]
  }
  const bar = niceLength((WIDTH - 2 * PAD) / scale / 4)
  const grid = niceLength(span / 4)
  const gridLines: JSX.Element[] = []
  for (let gx = Math.floor((cx - WIDTH / 2 / scale) / grid) * grid; gx < cx + WIDTH / 2 / scale; gx += grid) {
    const sx = WIDTH / 2 + (gx - cx) * scale
    gridLines.push(<line key={`x${gx}`} x1={sx} x2={sx} y1={0} y2={HEIGHT} class='grid' />)
  }
  for (let gy = Math.floor((cy - HEIGHT / 2 / scale) / grid) * grid; gy < cy + HEIGHT / 2 / scale; gy += grid) {
    const sy = HEIGHT / 2 - (gy - cy) * scale
    gridLines.push(<line key={`y${gy}`} x1={0} x2={WIDTH} y1={sy} y2={sy} class='grid' />)
  }
  return (
    <figure class='trail-map' data-testid={props.testId}>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role='img' aria-label={props.label}>
        <rect x={0} y={0} width={WIDTH} height={HEIGHT} class='map-bg' />
        {gridLines}
        {props.trails.map((trail, i) => {
          const color = trail.color ?? COLORS[i % COLORS.length]
          const line = trail.points.map((p) => screen(p).map((n) => n.toFixed(1)).join(',')).join(' ')
          const first = trail.points[0]
          const last = trail.points[trail.points.length - 1]
          return (
            <g key={trail.label} data-trail={trail.label}>
              <polyline points={line} fill='none' stroke={color} stroke-width={3} stroke-linejoin='round' stroke-linecap='round' />
              {first !== undefined && <circle cx={screen(first)[0]} cy={screen(first)[1]} r={5} fill='#fff' stroke={color} stroke-width={2} />}
              {last !== undefined && <circle cx={screen(last)[0]} cy={screen(last)[1]} r={5} fill={color} />}
            </g>
          )
        })}
        {(props.highlights ?? []).map((p, i) => {
          const [x, y] = screen(p)
          return <circle key={`h${i}`} cx={x} cy={y} r={9} class='highlight' />
        })}
        <g transform={`translate(${PAD},${HEIGHT - PAD})`}>
          <line x1={0} x2={bar * scale} y1={0} y2={0} class='scale-bar' />
          <text x={0} y={-6} class='scale-text'>{bar >= 1000 ? `${bar / 1000} km` : `${bar} m`}</text>
        </g>
      </svg>
      <figcaption>
        {props.trails.map((trail, i) => (
          <span key={trail.label} class='legend-item'><span class='swatch' style={{ background: trail.color ?? COLORS[i % COLORS.length] }} />{trail.label}</span>
        ))}
        <span class='muted'> · grid {grid >= 1000 ? `${grid / 1000} km` : `${grid} m`}, no map tiles: nothing leaves this node</span>
      </figcaption>
    </figure>
  )
}
