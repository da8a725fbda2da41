export interface ConcurrencyPoint {
  concurrency: number;
  rowsPerSecond: number;
}

export interface ChartOptions {
  points: ConcurrencyPoint[];
  /** The sink's delay: the ideal line is 25 rows per call, one call per delay per slot. */
  delayMs: number;
  /** Rows/s of the CPU path (b): the ceiling no concurrency can pass. */
  cpuCeiling: number;
  target: number;
  defaultConcurrency: number;
}

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { left: 80, right: 30, top: 50, bottom: 60 };

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const thousands = (value: number): string => `${Math.round(value / 1000)}k`;

/** Picks a round step so the y axis has about five gridlines. */
function niceStep(max: number): number {
  const raw = max / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

/**
 * Draws throughput against write concurrency (log₂ x axis) as a standalone SVG: the measured
 * points, the latency-bound ideal (25 rows per call per slot per delay), the CPU ceiling, the
 * target, and the default marked.
 */
export function drawConcurrencyChart(options: ChartOptions): string {
  const { points, delayMs, cpuCeiling, target, defaultConcurrency } = options;
  const xs = points.map((p) => p.concurrency);
  const minX = Math.log2(Math.min(...xs));
  const maxX = Math.log2(Math.max(...xs));
  const top = Math.max(cpuCeiling, target, ...points.map((p) => p.rowsPerSecond)) * 1.1;
  const step = niceStep(top);
  const maxY = Math.ceil(top / step) * step;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (c: number) => MARGIN.left + ((Math.log2(c) - minX) / (maxX - minX || 1)) * plotW;
  const y = (v: number) => MARGIN.top + plotH - (Math.min(v, maxY) / maxY) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(`Rows/s into a ${delayMs} ms DynamoDB sink, by WRITE_CONCURRENCY`)}</text>`,
  );
  for (let v = 0; v <= maxY; v += step) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 8}" y="${y(v) + 4}" text-anchor="end">${thousands(v)}</text>`,
    );
  }
  for (const c of xs) {
    parts.push(
      `<line x1="${x(c)}" x2="${x(c)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#f0f0f0"/>`,
      `<text x="${x(c)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${c}</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 18}" text-anchor="middle">write concurrency (BatchWriteItem calls in flight)</text>`,
    `<text transform="translate(20 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">rows per second</text>`,
  );
  // The ideal line stops where it leaves the plot, instead of running flat along the top.
  const idealAt = (c: number) => (c * 25 * 1000) / delayMs;
  const idealPoints: string[] = [];
  for (const c of xs) {
    if (idealAt(c) <= maxY) {
      idealPoints.push(`${x(c)},${y(idealAt(c))}`);
      continue;
    }
    idealPoints.push(`${x((maxY * delayMs) / 25 / 1000)},${y(maxY)}`);
    break;
  }
  const ideal = idealPoints.join(' ');
  parts.push(
    `<polyline points="${ideal}" fill="none" stroke="#999" stroke-dasharray="4 4"/>`,
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(cpuCeiling)}" y2="${y(cpuCeiling)}" stroke="#c0392b" stroke-dasharray="8 4"/>`,
    `<text x="${WIDTH - MARGIN.right - 4}" y="${y(cpuCeiling) - 6}" text-anchor="end" fill="#c0392b">CPU ceiling, b (SDK, no network): ${thousands(cpuCeiling)} rows/s</text>`,
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(target)}" y2="${y(target)}" stroke="#27ae60" stroke-dasharray="2 3"/>`,
    `<text x="${WIDTH - MARGIN.right - 4}" y="${y(target) - 6}" text-anchor="end" fill="#27ae60">target ${thousands(target)} rows/s</text>`,
  );
  const measured = points.map((p) => `${x(p.concurrency)},${y(p.rowsPerSecond)}`).join(' ');
  parts.push(`<polyline points="${measured}" fill="none" stroke="#2c6fbb" stroke-width="2.5"/>`);
  for (const p of points) {
    const isDefault = p.concurrency === defaultConcurrency;
    parts.push(
      `<circle cx="${x(p.concurrency)}" cy="${y(p.rowsPerSecond)}" r="${isDefault ? 6 : 4}" fill="${isDefault ? '#f39c12' : '#2c6fbb'}"/>`,
      `<text x="${x(p.concurrency)}" y="${y(p.rowsPerSecond) - 10}" text-anchor="middle">${thousands(p.rowsPerSecond)}</text>`,
    );
  }
  const legendY = MARGIN.top + 8;
  parts.push(
    `<text x="${MARGIN.left + 8}" y="${legendY + 4}" fill="#2c6fbb">● measured (median)</text>`,
    `<text x="${MARGIN.left + 8}" y="${legendY + 20}" fill="#f39c12">● default (${defaultConcurrency})</text>`,
    `<text x="${MARGIN.left + 8}" y="${legendY + 36}" fill="#777">- - ideal: 25 rows × concurrency per ${delayMs} ms</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
