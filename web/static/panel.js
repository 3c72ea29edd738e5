// The device panel: what one device measures now, its last 24 hours and
// 30 days, and download links. Focus moves into it on open and back to
// the marker or table row that opened it on close.
import { t, raw, fmtNumber, fmtTime, fmtAgo } from './i18n.js';
import { unitOf } from './quantities.js';
import { history, quality, csvURL, geojsonURL } from './api.js';
import { drawChart, para } from './chart.js';
import { swatch } from './list.js';

const $ = (id) => document.getElementById(id);

export class DevicePanel {
  constructor(onClose) {
    this.el = $('panel');
    this.onClose = onClose;
    this.id = null;
    this.returnTo = null;
    $('panel-close').addEventListener('click', () => this.close());
    this.el.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.close();
    });
  }

  // open shows row r (a device row as app.js builds it); focus returns to
  // from on close.
  open(r, q, from, alert) {
    this.id = r.id;
    this.returnTo = from || null;
    this.el.hidden = false;
    this.quality = null;
    this.render(r, alert);
    this.loadCharts(r, q);
    this.loadQuality(r);
    $('panel-h').focus();
  }

  // render fills in name, metadata and values; app.js calls it again on
  // every refresh while the panel is open.
  render(r, alert) {
    this.row = r;
    this.alert = alert;
    this.el.dataset.device = r.id;
    const h = $('panel-h');
    h.textContent = r.name;
    h.tabIndex = -1;
    const meta = $('panel-meta');
    meta.replaceChildren();
    const add = (k, v) => {
      const dt = document.createElement('dt');
      dt.textContent = t(k);
      const dd = document.createElement('dd');
      if (typeof v === 'string') dd.textContent = v; else dd.append(v);
      meta.append(dt, dd);
    };
    add('metaKind', r.kindName);
    add('metaDistrict', r.district || t('noDistrict'));
    if (r.time) {
      const time = document.createElement('time');
      time.dateTime = r.time.toISOString();
      time.textContent = `${fmtAgo(r.time)} (${fmtTime(r.time)})`;
      add('metaUpdated', time);
    }
    if (r.value !== undefined) add('colBand', swatch(r));
    if (alert) add('metaAlert', alert.summary || alert.rule_id);
    if (this.quality && this.quality.id === r.id) {
      const dd = document.createElement('span');
      dd.className = 'quality';
      dd.textContent = this.quality.text;
      add('metaQuality', dd);
    }
    const tbody = $('panel-values').querySelector('tbody');
    tbody.replaceChildren();
    for (const [f, v] of Object.entries(r.values || {}).sort()) {
      const tr = document.createElement('tr');
      tr.dataset.field = f;
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = fieldName(f);
      const td = document.createElement('td');
      td.className = 'num';
      td.dataset.value = String(v);
      const unit = unitOf(r.units, f);
      td.textContent = `${fmtNumber(v, 2)}${unit ? ` ${unit}` : ''}`;
      tr.append(th, td);
      tbody.append(tr);
    }
    $('dl-csv').href = csvURL(r.id);
    $('dl-geojson').href = geojsonURL(r.id);
  }

  // loadQuality shows the device's share of values passing quality
  // control (day, week, month); nothing when the server cannot say.
  loadQuality(r) {
    const id = r.id;
    quality(id).then((q) => {
      if (this.id !== id) return;
      const pct = (p) => (p && typeof p.passing === 'number' ? `${fmtNumber(p.passing * 100, 0)} %` : '–');
      const ps = q.periods || {};
      const text = ps.month && ps.month.values > 0
        ? t('qualityLine', { day: pct(ps.day), week: pct(ps.week), month: pct(ps.month) }) : t('qualityNone');
      this.quality = { id, text };
      this.render(this.row, this.alert);
    }).catch(() => {});
  }

  async loadCharts(r, q) {
    const field = q && q.kind === r.kind && !q.value ? q.field : firstField(r);
    const name = fieldName(field);
    const unit = unitOf(r.units, field);
    const day = 24 * 3600 * 1000;
    const jobs = [['chart24', '24h', day, (d) => fmtTime(d)], ['chart30', '30d', 30 * day, (d) => d.toLocaleDateString(document.documentElement.lang)]];
    for (const [box, span, ms, fmt] of jobs) {
      $(box).replaceChildren(para(t('chartLoading')));
      if (!field) { $(box).replaceChildren(para(t('chartEmpty'))); continue; }
      const id = r.id;
      history(id, field, span).then((items) => {
        if (this.id !== id) return;
        const pts = items.filter((it) => typeof it.values?.[field] === 'number')
          .map((it) => ({ time: new Date(it.time), value: it.values[field] }));
        const now = new Date();
        drawChart($(box), pts, name, unit, new Date(now.getTime() - ms), now, fmt);
      }).catch(() => {
        if (this.id === id) $(box).replaceChildren(para(t('chartError')));
      });
    }
  }

  close() {
    if (this.el.hidden) return;
    this.el.hidden = true;
    this.id = null;
    this.onClose();
    if (this.returnTo && this.returnTo.isConnected) this.returnTo.focus();
  }
}

// fieldName is a field's name in words, or the field itself when the
// translation table does not know it (a new kind of sensor).
function fieldName(f) {
  return raw(`fields.${f}`) || f;
}

function firstField(r) {
  const fields = Object.keys(r.values || {}).sort();
  return fields.find((f) => unitOf(r.units, f) !== '') || fields[0];
}
