// The delivery statistics chart: plain SVG, drawn here, no library. One bar per time
// bucket that had deliveries (delivered, then retrying, then failed, stacked; its height
// is the volume), and the success rate of each bucket as a line over them (0-100 %).
// Everything reaches the SVG through attributes and textContent, never markup.

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 720;
const HEIGHT = 200;
const PAD = { top: 12, right: 44, bottom: 26, left: 40 };

function node(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function label(start, seconds) {
  const d = new Date(start);
  return seconds < 86400
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

export function successRate(b) {
  const ended = b.delivered + b.failed;
  return ended ? b.delivered / ended : null;
}

// `stats`: the `data` of GET /dashboard/webhooks/{id}/stats. Returns an <svg>.
export function statsChart(stats) {
  const buckets = stats.buckets;
  const volume = (b) => b.delivered + b.failed + b.retrying + b.pending;
  const top = Math.max(1, ...buckets.map(volume));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const step = plotW / buckets.length;
  const barW = Math.max(2, step * 0.7);
  const y = (n) => PAD.top + plotH - (n / top) * plotH;
  const rateY = (r) => PAD.top + plotH - r * plotH;
  const total = volume(stats);
  const rate = stats.successRate === null ? 'no deliveries ended' : `${(stats.successRate * 100).toFixed(1)} % succeeded`;
  const svg = node('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: 'chart',
    role: 'img',
    'aria-label': `${total} deliveries in ${stats.window}, ${rate}`,
    'data-buckets': buckets.length,
  });
  // axes: volume on the left, success rate on the right
  svg.append(node('line', { x1: PAD.left, y1: PAD.top + plotH, x2: PAD.left + plotW, y2: PAD.top + plotH, class: 'axis' }));
  svg.append(node('text', { x: PAD.left - 6, y: PAD.top + 4, class: 'tick end' }, String(top)));
  svg.append(node('text', { x: PAD.left - 6, y: PAD.top + plotH, class: 'tick end' }, '0'));
  svg.append(node('text', { x: PAD.left + plotW + 6, y: PAD.top + 4, class: 'tick rate' }, '100 %'));
  svg.append(node('text', { x: PAD.left + plotW + 6, y: PAD.top + plotH, class: 'tick rate' }, '0 %'));
  const points = [];
  buckets.forEach((b, i) => {
    const x = PAD.left + i * step + (step - barW) / 2;
    if (i % Math.ceil(buckets.length / 8) === 0) {
      svg.append(node('text', { x: x + barW / 2, y: HEIGHT - 8, class: 'tick middle' }, label(b.start, stats.bucketSeconds)));
    }
    const n = volume(b);
    if (!n) return;
    const bar = node('g', { class: 'bar', 'data-start': b.start, 'data-volume': n });
    const r = successRate(b);
    bar.append(node('title', {}, `${label(b.start, stats.bucketSeconds)}: ${b.delivered} delivered, ${b.failed} failed, ${b.retrying + b.pending} waiting`
      + (r === null ? '' : `, ${(r * 100).toFixed(1)} % succeeded`)
      + (b.p50Ms === null ? '' : `, p50 ${b.p50Ms} ms, p95 ${b.p95Ms} ms`)));
    let base = 0;
    for (const [kind, count] of [['delivered', b.delivered], ['retrying', b.retrying + b.pending], ['failed', b.failed]]) {
      if (!count) continue;
      bar.append(node('rect', { x, y: y(base + count), width: barW, height: y(base) - y(base + count), class: `seg ${kind}` }));
      base += count;
    }
    svg.append(bar);
    if (r !== null) points.push(`${x + barW / 2},${rateY(r)}`);
  });
  if (points.length > 1) svg.append(node('polyline', { points: points.join(' '), class: 'rate-line' }));
  for (const p of points) {
    const [cx, cy] = p.split(',');
    svg.append(node('circle', { cx, cy, r: 2.5, class: 'rate-dot' }));
  }
  return svg;
}
