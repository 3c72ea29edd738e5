// A small line chart as inline SVG: no library, and a text summary for
// those who cannot see it.
import { t, fmtNumber, fmtTime } from './i18n.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 320;
const H = 120;
const PAD = { l: 42, r: 8, t: 8, b: 22 };

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// drawChart renders points [{time: Date, value: number}] into box over the
// time span [from, to] (Dates), labelled with the quantity's name and unit.
export function drawChart(box, points, name, unit, from, to, timeFmt = fmtTime) {
  box.replaceChildren();
  if (points.length === 0) {
    box.append(para(t('chartEmpty')));
    return;
  }
  const vals = points.map((p) => p.value);
  let min = Math.min(...vals);
  let max = Math.max(...vals);
  if (min === max) { min -= 1; max += 1; }
  const t0 = Math.min(from.getTime(), points[0].time.getTime());
  const t1 = Math.max(to.getTime(), points[points.length - 1].time.getTime(), t0 + 1);
  const x = (tm) => PAD.l + ((tm - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
  const y = (v) => PAD.t + (1 - (v - min) / (max - min)) * (H - PAD.t - PAD.b);
  const summary = t('chartSummary', {
    q: name, n: points.length, from: timeFmt(points[0].time), to: timeFmt(points[points.length - 1].time),
    min: `${fmtNumber(Math.min(...vals))} ${unit}`, max: `${fmtNumber(Math.max(...vals))} ${unit}`,
    last: `${fmtNumber(vals[vals.length - 1])} ${unit}`,
  });
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, 'aria-hidden': 'true', class: 'chart-svg' });
  svg.append(
    el('line', { x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b, class: 'axis' }),
    el('line', { x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: H - PAD.b, class: 'axis' }),
    el('text', { x: PAD.l - 4, y: PAD.t + 8, 'text-anchor': 'end', class: 'tick' }, fmtNumber(max)),
    el('text', { x: PAD.l - 4, y: H - PAD.b, 'text-anchor': 'end', class: 'tick' }, fmtNumber(min)),
    el('text', { x: PAD.l, y: H - 6, class: 'tick' }, timeFmt(new Date(t0))),
    el('text', { x: W - PAD.r, y: H - 6, 'text-anchor': 'end', class: 'tick' }, timeFmt(new Date(t1))),
  );
  const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(p.time.getTime()).toFixed(1)},${y(p.value).toFixed(1)}`).join('');
  svg.append(el('path', { d, class: 'line' }));
  if (points.length < 40) {
    for (const p of points) svg.append(el('circle', { cx: x(p.time.getTime()).toFixed(1), cy: y(p.value).toFixed(1), r: 2, class: 'dot' }));
  }
  box.append(svg, para(summary, 'small'));
}

export function para(text, cls) {
  const p = document.createElement('p');
  p.textContent = text;
  if (cls) p.className = cls;
  return p;
}
