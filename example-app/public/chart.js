// The live chart: plain browser JavaScript and SVG, no build step, no library.
// It polls /_bff/chart (kept by the BFF) and draws, over the last minutes, the cached
// token's remaining lifetime (line), the requests per second (bars), and a mark at each
// new token (refresh, green) and each failure (red). Colours are SVG presentation
// attributes, not inline styles, so the page's CSP (style-src 'self') allows them.

const SVG = 'http://www.w3.org/2000/svg';
const POLL_MS = 2_000;
const WIDTH = 720;
const HEIGHT = 220;
const PAD = { left: 44, right: 44, top: 12, bottom: 24 };

function node(tag, attributes, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

function niceMax(value, floor) {
  const target = Math.max(floor, value);
  const step = 10 ** Math.floor(Math.log10(target));
  return Math.ceil(target / step) * step;
}

function draw(svg, data) {
  const { now, samples, marks } = data;
  // A young BFF gets a one-minute window, growing to the history kept (5 minutes).
  const keepMs = Math.min(data.keepMs, Math.max(60_000, now - (samples[0]?.at ?? now)));
  const from = now - keepMs;
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const x = (at) => PAD.left + ((at - from) / keepMs) * innerW;
  const lifetimes = samples.map((s) => s.secondsLeft ?? 0);
  const maxLife = niceMax(Math.max(0, ...lifetimes), 10);
  const maxRps = niceMax(Math.max(0, ...samples.map((s) => s.requestsPerSecond)), 1);
  const yLife = (seconds) => PAD.top + innerH - (seconds / maxLife) * innerH;
  const yRps = (rps) => PAD.top + innerH - (rps / maxRps) * innerH;

  const parts = [
    node('rect', { x: PAD.left, y: PAD.top, width: innerW, height: innerH, fill: '#fbfcfe', stroke: '#d7dde8' }),
    node('text', { x: 4, y: PAD.top + 10, 'font-size': 10, fill: '#2563eb' }, `${maxLife} s`),
    node('text', { x: 4, y: PAD.top + innerH, 'font-size': 10, fill: '#2563eb' }, '0'),
    node('text', { x: WIDTH - PAD.right + 4, y: PAD.top + 10, 'font-size': 10, fill: '#9a6b00' }, `${maxRps} r/s`),
    node('text', { x: PAD.left, y: HEIGHT - 6, 'font-size': 10, fill: '#667085' }, keepMs < 120_000 ? `−${Math.round(keepMs / 1000)} s` : `−${Math.round(keepMs / 60_000)} min`),
    node('text', { x: WIDTH - PAD.right, y: HEIGHT - 6, 'font-size': 10, fill: '#667085', 'text-anchor': 'end' }, 'now'),
  ];

  // Requests per second: thin bars behind the line.
  const barWidth = Math.max(1, innerW / (keepMs / 1000) - 0.5);
  for (const s of samples) {
    if (s.requestsPerSecond <= 0) continue;
    const top = yRps(s.requestsPerSecond);
    parts.push(node('rect', { class: 'rps-bar', x: x(s.at) - barWidth, y: top, width: barWidth, height: PAD.top + innerH - top, fill: '#f5c35b', opacity: 0.7 }));
  }

  // Marks: a new token (refresh) and a failure, full height.
  for (const mark of marks) {
    const colour = mark.kind === 'refresh' ? '#16a34a' : '#dc2626';
    const line = node('line', { class: `mark mark-${mark.kind}`, x1: x(mark.at), x2: x(mark.at), y1: PAD.top, y2: PAD.top + innerH, stroke: colour, 'stroke-width': 2, 'stroke-dasharray': mark.kind === 'failure' ? '4 3' : '' });
    line.append(node('title', {}, mark.kind === 'refresh' ? 'new token' : `failure ${mark.code ?? ''}`));
    parts.push(line);
  }

  // Remaining lifetime: one polyline per run of samples with a token.
  let run = [];
  const flush = () => {
    if (run.length > 0) parts.push(node('polyline', { class: 'lifetime', points: run.join(' '), fill: 'none', stroke: '#2563eb', 'stroke-width': 2 }));
    run = [];
  };
  for (const s of samples) {
    if (s.secondsLeft === null) flush();
    else run.push(`${x(s.at).toFixed(1)},${yLife(s.secondsLeft).toFixed(1)}`);
  }
  flush();
  for (const s of samples) {
    if (s.secondsLeft !== null) parts.push(node('circle', { class: 'point', cx: x(s.at).toFixed(1), cy: yLife(s.secondsLeft).toFixed(1), r: 1.5, fill: '#2563eb' }));
  }

  svg.replaceChildren(...parts);
  svg.dataset.points = String(samples.filter((s) => s.secondsLeft !== null).length);
  svg.dataset.refreshes = String(marks.filter((m) => m.kind === 'refresh').length);
  svg.dataset.failures = String(marks.filter((m) => m.kind === 'failure').length);
  const latest = samples.at(-1);
  const caption = document.getElementById('chart-caption');
  if (caption) {
    caption.textContent = latest
      ? `Token left: ${latest.secondsLeft === null ? 'none cached' : `${Math.round(latest.secondsLeft)} s`} · ${latest.requestsPerSecond} requests/s · ` +
        `${svg.dataset.refreshes} new tokens, ${svg.dataset.failures} failures in the last ${Math.round(data.keepMs / 60_000)} minutes`
      : 'no samples yet';
  }
}

async function poll(svg) {
  try {
    const response = await fetch('/_bff/chart', { cache: 'no-store' });
    if (response.ok) draw(svg, await response.json());
  } catch {
    // The BFF is gone; the status card already says so.
  }
}

const svg = document.getElementById('chart');
if (svg) {
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  await poll(svg);
  setInterval(() => void poll(svg), POLL_MS);
}
