// The citizens' page: wires the data (api.js), the map, the table, the
// device panel and the alert banner, and refreshes them without a reload.
import { t, raw, setLang, lang, languages, texts, fmtNumber, fmtTime } from './i18n.js';
import { quantities, byId, valueOf, bandOf, colourOf, noDataColour, scales, unitOf, deviceBand } from './quantities.js';
import * as api from './api.js';
import { DeviceMap } from './map.js';
import { DeviceTable, swatch } from './list.js';
import { DevicePanel } from './panel.js';
import { Alerts } from './alerts.js';

// How often the values are refreshed; ?refresh=SECONDS overrides (≥ 1).
const REFRESH_MS = 1000 * Math.max(1, Number(new URLSearchParams(location.search).get('refresh')) || 15);
const $ = (id) => document.getElementById(id);

const state = {
  q: quantities[0],
  devices: [], // from /latest
  districts: null,
  catalog: null,
  kind: quantities[0].kind,
  district: '',
  rows: new Map(), // id -> row of the last render
  updatedAt: null, // when /latest last changed
};

let map;
let table;
let panel;
let alerts;

// buildRow turns a device of /latest into what the page shows: the value
// of the chosen quantity (or, for other kinds, of their own first
// quantity), its band, colour and words.
function buildRow(d) {
  const kq = state.q.kind === d.kind ? state.q : quantities.find((x) => x.kind === d.kind);
  const values = d.latest?.values;
  const value = kq ? valueOf(kq, values) : undefined;
  const own = kq ? deviceBand(kq, d.levels, value) : null; // the device's own warning levels
  const band = own ? own.band : kq ? bandOf(kq, value) : -1;
  const loc = d.latest?.location || d.location;
  let bandName = band < 0 ? t('noData') : own ? own.name : raw(`bands.${kq.scale}`)[band];
  if (own && band === 0) bandName = t('belowLevel', { level: d.levels[kq.field][0].name });
  const name = d.name || d.id;
  const units = d.latest?.units;
  const unit = kq && !kq.value ? unitOf(units, kq.field) || kq.unit : kq?.unit || '';
  const valueText = value === undefined ? t('noValue') : `${fmtNumber(value)} ${unit}`;
  const digit = band < 0 ? '–' : String(band + 1);
  const alert = alerts.bySubject(d.id);
  const warning = alert ? `. ${t('metaAlert')}: ${alert.summary || alert.rule_id}` : '';
  return {
    id: d.id, name, kind: d.kind, kindName: raw(`kinds.${d.kind}`) || d.kind, district: d.district || '',
    lat: loc?.lat, lon: loc?.lon, values, units, value, unit, band, bandName,
    colour: own ? own.colour : kq ? colourOf(kq, band) : noDataColour, digit,
    time: d.latest?.time ? new Date(d.latest.time) : null,
    label: t('markerLabel', { name, value: valueText, digit, band: bandName }) + warning,
    alert,
  };
}

function districtMeans(rows) {
  const acc = new Map();
  for (const r of rows) {
    if (r.kind !== state.q.kind || r.value === undefined || !r.district) continue;
    const m = acc.get(r.district) || { sum: 0, n: 0 };
    m.sum += r.value;
    m.n++;
    acc.set(r.district, m);
  }
  const out = new Map();
  for (const [name, m] of acc) {
    const mean = m.sum / m.n;
    const band = bandOf(state.q, mean);
    out.set(name, { mean, n: m.n, band, bandName: raw(`bands.${state.q.scale}`)[band] });
  }
  return out;
}

// render redraws everything from state; cheap enough to run on every change.
function render() {
  const all = state.devices.map(buildRow);
  state.rows = new Map(all.map((r) => [r.id, r]));
  const inDistrict = (r) => !state.district || r.district === state.district;
  const onMap = all.filter((r) => r.kind === state.q.kind && inDistrict(r));
  const listed = all.filter((r) => (!state.kind || r.kind === state.kind) && inDistrict(r));
  const qName = t(`quantities.${state.q.id}`);
  map.update(onMap, alerts.subjects(), state.q.scale === 'frost');
  map.setLabel(t('mapLabel', { q: qName }));
  const means = districtMeans(all);
  const areaAlerts = new Map([...alerts.firing.values()].filter((a) => (a.subject || '').startsWith('district:'))
    .map((a) => [a.subject.slice('district:'.length), a]));
  map.shadeDistricts(means, state.q, (v) => `${fmtNumber(v)} ${state.q.unit}`, areaAlerts);
  table.render(listed);
  $('table-caption').textContent = t('tableCaption', { n: listed.length, q: qName });
  renderDistrictTable(means, qName, areaAlerts);
  renderLegend(qName);
  renderAlerts();
  if (state.updatedAt) $('status').textContent = t('updated', { time: fmtTime(state.updatedAt), n: state.devices.length });
  if (panel.id && state.rows.has(panel.id)) panel.render(state.rows.get(panel.id), alerts.bySubject(panel.id));
}

function renderDistrictTable(means, qName, areaAlerts) {
  $('district-caption').textContent = t('districtCaption', { q: qName });
  const names = (state.districts?.features || []).map((f) => f.properties.name).sort((a, b) => a.localeCompare(b));
  // Without a districts file there is nothing to show or filter by.
  for (const id of ['districts-h', 'district-table-wrap', 'district-control']) $(id).hidden = names.length === 0;
  const tbody = $('district-table').querySelector('tbody');
  tbody.replaceChildren(...names.map((name) => {
    const m = means.get(name);
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = name;
    const mean = document.createElement('td');
    mean.className = 'num';
    mean.textContent = m ? `${fmtNumber(m.mean)} ${m.unit || state.q.unit}` : t('noValue');
    const band = document.createElement('td');
    const r = m ? { colour: colourOf(state.q, m.band), digit: String(m.band + 1), bandName: m.bandName } : { colour: noDataColour, digit: '–', bandName: t('noData') };
    band.append(swatch(r));
    if (areaAlerts.has(name)) band.append(' ', warning());
    const n = document.createElement('td');
    n.className = 'num';
    n.textContent = m ? String(m.n) : '0';
    tr.append(th, mean, band, n);
    return tr;
  }));
}

// warning is the word that marks a device or district with an alert.
function warning() {
  const warn = document.createElement('span');
  warn.className = 'warn';
  warn.textContent = t('metaAlert');
  return warn;
}

function renderLegend(qName) {
  const q = state.q;
  const own = state.devices.some((d) => d.kind === q.kind && d.levels?.[q.field]?.length) ? ` ${t('legendOwnLevels')}` : '';
  $('legend-source').textContent = `${qName} (${q.unit}). ${t(scales[q.scale].note)}${own}${map.clustered ? ` ${t('clusterNote')}` : ''}`;
  const names = raw(`bands.${q.scale}`);
  const items = names.map((bandName, i) => ({ colour: colourOf(q, i), digit: String(i + 1), bandName }));
  items.push({ colour: noDataColour, digit: '–', bandName: t('noData') });
  $('legend-list').replaceChildren(...items.map((r) => {
    const li = document.createElement('li');
    li.append(swatch(r));
    return li;
  }));
}

// renderAlerts shows the firing alerts in the banner, each with a button to
// its device once the device is known.
function renderAlerts() {
  const list = $('alert-list');
  const items = [...alerts.firing.values()].sort((a, b) => (b.fired_at || '').localeCompare(a.fired_at || ''));
  $('alerts').hidden = items.length === 0;
  list.replaceChildren(...items.map((a) => {
    const li = document.createElement('li');
    li.dataset.alert = a.id;
    li.className = `alert sev-${a.severity || 'warning'}`;
    const what = document.createElement('strong');
    what.textContent = a.summary || a.rule_id;
    li.append(what);
    const where = [a.district ? t('alertIn', { district: a.district }) : '', a.fired_at ? t('alertSince', { time: fmtTime(new Date(a.fired_at)) }) : ''];
    li.append(` ${where.filter(Boolean).join(', ')} `);
    const row = state.rows.get(a.subject);
    if (row) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'link';
      b.textContent = t('alertOpen', { name: row.name });
      b.addEventListener('click', () => select(a.subject, b));
      li.append(b);
    }
    return li;
  }));
}

function renderLicence() {
  const c = state.catalog || {};
  const publisher = c['dct:publisher']?.['foaf:name'] || '';
  const lic = c['dct:license']?.['@id'] || '';
  const name = !lic || lic.includes('dl-by-de/2.0') ? t('licenceName') : lic;
  $('licence').textContent = t('licenceText', { publisher: publisher || '–', licence: name });
}

function renderExplain() {
  $('explain').replaceChildren(...raw('explain').map((s) => {
    const p = document.createElement('p');
    p.textContent = s;
    return p;
  }));
}

function fillSelect(sel, options, value) {
  const first = sel.options[0]?.value === '' ? sel.options[0] : null;
  sel.replaceChildren(...(first ? [first] : []), ...options.map(([v, label]) => new Option(label, v)));
  sel.value = value;
}

function fillControls() {
  fillSelect($('quantity'), quantities.map((q) => [q.id, t(`quantities.${q.id}`)]), state.q.id);
  const kinds = [...new Set(state.devices.map((d) => d.kind))].sort();
  fillSelect($('kind-filter'), kinds.map((k) => [k, raw(`kinds.${k}`) || k]), state.kind);
  const districts = (state.districts?.features || []).map((f) => f.properties.name).sort((a, b) => a.localeCompare(b));
  fillSelect($('district-filter'), districts.map((d) => [d, d]), state.district);
}

function applyLanguage(l) {
  setLang(l);
  try { localStorage.setItem('kessel-lang', lang()); } catch { /* private mode */ }
  const other = languages.find((x) => x !== lang());
  const sw = $('lang-switch');
  sw.textContent = texts[other].langName;
  sw.lang = other;
  sw.dataset.lang = other;
  fillControls();
  renderExplain();
  renderLicence();
  render();
}

function select(id, from) {
  const r = state.rows.get(id);
  if (!r) return;
  panel.open(r, state.q, from, alerts.bySubject(id));
  map.show(id);
}

async function refresh() {
  if (document.hidden && document.body.dataset.ready === 'yes') {
    setTimeout(refresh, REFRESH_MS); // nobody looks: ask nothing
    return;
  }
  try {
    const { items, changed } = await api.latest();
    if (changed) {
      const kindsBefore = new Set(state.devices.map((d) => d.kind)).size;
      state.devices = items;
      if (new Set(items.map((d) => d.kind)).size !== kindsBefore) fillControls();
      state.updatedAt = new Date();
      render();
    } else if (panel.id && state.rows.has(panel.id)) {
      panel.render(state.rows.get(panel.id), alerts.bySubject(panel.id)); // "vor 3 Minuten" moves on
    }
    if (document.body.dataset.ready !== 'yes') performance.mark('kessel-first-render');
    document.body.dataset.ready = 'yes';
  } catch (e) {
    $('status').textContent = t('loadError', { err: e.message });
  }
  setTimeout(refresh, REFRESH_MS);
}

async function start() {
  const saved = new URLSearchParams(location.search).get('lang') || (() => { try { return localStorage.getItem('kessel-lang'); } catch { return null; } })();
  setLang(saved || 'de');
  map = new DeviceMap($('map'), select);
  table = new DeviceTable($('device-table'), select);
  panel = new DevicePanel(() => {});
  alerts = new Alerts(() => render());
  $('status').textContent = t('loading');
  $('lang-switch').addEventListener('click', () => applyLanguage($('lang-switch').dataset.lang));
  $('quantity').addEventListener('change', (e) => {
    state.q = byId(e.target.value);
    state.kind = state.q.kind;
    $('kind-filter').value = state.kind;
    table.reset();
    render();
  });
  $('kind-filter').addEventListener('change', (e) => { state.kind = e.target.value; table.reset(); render(); });
  $('district-filter').addEventListener('change', (e) => { state.district = e.target.value; table.reset(); render(); });
  $('controls').addEventListener('submit', (e) => e.preventDefault());
  // The catalogue only names the publisher and licence: the map does not
  // wait for it (its first answer may take a while on a large store).
  api.catalog().then((c) => { state.catalog = c; renderLicence(); }, () => {});
  const [districts] = await Promise.allSettled([api.districts()]);
  state.districts = districts.status === 'fulfilled' ? districts.value : null;
  map.setDistricts(state.districts);
  applyLanguage(lang());
  alerts.start();
  await refresh();
}

// For the curious (and the browser test): how many answers were new, and
// how many a 304 that cost no body.
window.kesselPage = { stats: api.stats };
start();
