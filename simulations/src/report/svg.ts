/** tiny inline-SVG charts: no scripts, no external assets, readable in any browser */

export interface Band { from: number, to: number, label: string, kind: string }
export interface Line { points: Array<[number, number]>, color: string, label: string, dashed?: boolean }

const W = 760
const H = 240
const M = { left: 56, right: 16, top: 16, bottom: 36 }
const BAND_COLORS: Record<string, string> = { partition: '#f4c7c3', 'org-loss': '#f9d9a8', kill: '#f9d9a8', churn: '#fde9c4', deploy: '#c9e4f6', update: '#d6ecd2', cordon: '#e3d7f1' }

/** text made safe inside HTML and SVG */
export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

function fmt (x: number): string {
  if (Math.abs(x) >= 1e9) return `${round(x / 1e9)}G`
  if (Math.abs(x) >= 1e6) return `${round(x / 1e6)}M`
  if (Math.abs(x) >= 1e4) return `${round(x / 1e3)}k`
  return String(round(x))
}

function round (x: number): number {
  return Math.round(x * 100) / 100
}

function ticks (min: number, max: number, count = 5): number[] {
  if (max <= min) return [min]
  const step = niceStep((max - min) / count)
  const out = []
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) out.push(v)
  return out
}

function niceStep (raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw))
  const f = raw / p
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p
}

/**
 * The svg carries its scale (`data-x0`… the data values at the plot's edges,
 * `data-plot` the plot's box in px), so a reader (the report's test) can turn
 * what is drawn back into numbers and check them against the summary
 */
function frame (id: string, title: string, body: string, xLabel: string, yLabel: string, scale?: { x0: number, x1: number, y0: number, y1: number }): string {
  const data = scale === undefined ? '' : ` data-x0="${scale.x0}" data-x1="${scale.x1}" data-y0="${scale.y0}" data-y1="${scale.y1}" data-plot="${M.left} ${M.top} ${W - M.left - M.right} ${H - M.top - M.bottom}"`
  return `<figure class="chart" data-chart="${id}"><figcaption>${escapeHtml(title)}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}"${data}>` +
    `${body}<text x="${W / 2}" y="${H - 4}" text-anchor="middle" class="axis-label">${escapeHtml(xLabel)}</text>` +
    `<text x="12" y="${H / 2}" text-anchor="middle" transform="rotate(-90 12 ${H / 2})" class="axis-label">${escapeHtml(yLabel)}</text></svg></figure>`
}

function axes (x0: number, x1: number, y0: number, y1: number, yFormat: (v: number) => string): { sx: (x: number) => number, sy: (y: number) => number, svg: string } {
  const pw = W - M.left - M.right
  const ph = H - M.top - M.bottom
  const sx = (x: number): number => M.left + (x1 === x0 ? 0 : (x - x0) / (x1 - x0) * pw)
  const sy = (y: number): number => M.top + ph - (y1 === y0 ? 0 : (y - y0) / (y1 - y0) * ph)
  let svg = `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="#fff" stroke="#ccc"/>`
  for (const t of ticks(y0, y1)) svg += `<line x1="${M.left}" x2="${M.left + pw}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/><text x="${M.left - 6}" y="${sy(t) + 4}" text-anchor="end" class="tick">${escapeHtml(yFormat(t))}</text>`
  for (const t of ticks(x0, x1, 8)) svg += `<text x="${sx(t)}" y="${M.top + ph + 16}" text-anchor="middle" class="tick">${fmt(t)}</text>`
  return { sx, sy, svg }
}

/** an SVG line chart of `lines` (x in virtual ms), with shaded fault `bands` */
export function lineChart (id: string, title: string, lines: Line[], options: { bands?: Band[], xLabel: string, yLabel: string, yMin?: number, yMax?: number, yFormat?: (v: number) => string }): string {
  const all = lines.flatMap(l => l.points)
  if (all.length === 0) return frame(id, title, '<text x="380" y="120" text-anchor="middle">no data</text>', options.xLabel, options.yLabel)
  const x0 = Math.min(...all.map(p => p[0]))
  const x1 = Math.max(...all.map(p => p[0]))
  const y0 = options.yMin ?? Math.min(0, ...all.map(p => p[1]))
  const y1 = options.yMax ?? Math.max(...all.map(p => p[1]), y0 + 1)
  const { sx, sy, svg: grid } = axes(x0, x1, y0, y1, options.yFormat ?? fmt)
  let body = ''
  for (const band of options.bands ?? []) {
    const a = sx(Math.max(x0, band.from))
    const b = sx(Math.min(x1, band.to))
    const color = BAND_COLORS[band.kind] ?? '#eee'
    body += b - a < 2
      ? `<line class="fault" x1="${a}" x2="${a}" y1="${M.top}" y2="${H - M.bottom}" stroke="#d9822b" stroke-width="2"><title>${escapeHtml(band.label)}</title></line>`
      : `<rect class="fault" x="${a}" y="${M.top}" width="${b - a}" height="${H - M.top - M.bottom}" fill="${color}" opacity="0.7"><title>${escapeHtml(band.label)}</title></rect>`
  }
  body = grid + body
  lines.forEach((line, i) => {
    const d = line.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join('')
    body += `<path class="series" data-label="${escapeHtml(line.label)}" d="${d}" fill="none" stroke="${line.color}" stroke-width="1.6"${line.dashed === true ? ' stroke-dasharray="5 3"' : ''}/>`
    body += `<rect x="${M.left + 10 + i * 170}" y="${M.top + 6}" width="12" height="3" fill="${line.color}"/><text x="${M.left + 26 + i * 170}" y="${M.top + 11}" class="legend">${escapeHtml(line.label)}</text>`
  })
  return frame(id, title, body, options.xLabel, options.yLabel, { x0, x1, y0, y1 })
}

/** an SVG bar chart of groups of bars, one colour per series */
export function barChart (id: string, title: string, bars: Array<{ label: string, values: number[] }>, options: { series: Array<{ label: string, color: string }>, xLabel: string, yLabel: string }): string {
  if (bars.length === 0) return frame(id, title, '<text x="380" y="120" text-anchor="middle">nothing to show</text>', options.xLabel, options.yLabel)
  const y1 = Math.max(1, ...bars.flatMap(b => b.values))
  const { sy, svg: grid } = axes(0, 1, 0, y1, fmt)
  const pw = W - M.left - M.right
  const slot = pw / bars.length
  const k = options.series.length
  const bw = Math.max(1, slot * 0.8 / k)
  let body = grid.replace(/<text x="[^"]*" y="[^"]*" text-anchor="middle" class="tick">[^<]*<\/text>/g, '')
  bars.forEach((bar, i) => {
    bar.values.forEach((v, j) => {
      const x = M.left + i * slot + slot * 0.1 + j * bw
      body += `<rect class="bar" data-series="${escapeHtml(options.series[j].label)}" x="${x.toFixed(1)}" y="${sy(v).toFixed(1)}" width="${bw.toFixed(1)}" height="${(sy(0) - sy(v)).toFixed(1)}" fill="${options.series[j].color}"><title>${escapeHtml(`${bar.label}: ${options.series[j].label} ${fmt(v)}`)}</title></rect>`
    })
    if (bars.length <= 24 || i % Math.ceil(bars.length / 12) === 0) body += `<text x="${(M.left + (i + 0.5) * slot).toFixed(1)}" y="${H - M.bottom + 14}" text-anchor="middle" class="tick">${escapeHtml(bar.label)}</text>`
  })
  options.series.forEach((s, j) => { body += `<rect x="${M.left + 10 + j * 170}" y="${M.top + 6}" width="12" height="8" fill="${s.color}"/><text x="${M.left + 26 + j * 170}" y="${M.top + 14}" class="legend">${escapeHtml(s.label)}</text>` })
  return frame(id, title, body, options.xLabel, options.yLabel, { x0: 0, x1: bars.length, y0: 0, y1 })
}

/** counts of values in `edges` bins (the last bin is open-ended) */
export function histogram (values: number[], edges: number[]): Array<{ label: string, values: number[] }> {
  const counts = new Array(edges.length).fill(0)
  for (const v of values) {
    let i = edges.length - 1
    while (i > 0 && v < edges[i]) i--
    counts[i]++
  }
  return edges.map((e, i) => ({ label: i === edges.length - 1 ? `≥${fmt(e)}` : fmt(e), values: [counts[i]] }))
}
