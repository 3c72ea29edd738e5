// The list view: every device the map shows, and more, as a sortable
// table. It is the map's text alternative: a screen reader or keyboard
// user reaches every device and its panel from here.
import { t, fmtTime, fmtNumber } from './i18n.js';

// PAGE is how many rows the table shows at first and adds per "more":
// thousands of rows would make the page slow and the list hard to use.
const PAGE = 200;

export class DeviceTable {
  constructor(table, onSelect) {
    this.limit = PAGE;
    this.more = document.getElementById('table-more');
    this.shown = document.getElementById('table-shown');
    this.more.addEventListener('click', () => {
      const first = this.limit;
      this.limit += PAGE;
      this.render(this.rows);
      this.tbody.rows[first]?.querySelector('button')?.focus(); // continue where the list grew
    });
    this.table = table;
    this.tbody = table.querySelector('tbody');
    this.onSelect = onSelect;
    this.sort = { key: 'name', dir: 1 };
    for (const th of table.querySelectorAll('th[data-sort]')) {
      th.querySelector('button').addEventListener('click', () => {
        const key = th.dataset.sort;
        this.sort = { key, dir: this.sort.key === key ? -this.sort.dir : 1 };
        this.render(this.rows);
      });
    }
    this.rows = [];
  }

  // render shows rows sorted by the chosen column; the kind column only
  // when rows of several kinds are listed (narrow screens need the room).
  render(rows) {
    this.rows = rows;
    this.table.classList.toggle('one-kind', new Set(rows.map((r) => r.kind)).size <= 1);
    const { key, dir } = this.sort;
    const sorted = [...rows].sort((a, b) => dir * compare(sortValue(a, key), sortValue(b, key)) || a.id.localeCompare(b.id));
    for (const th of this.table.querySelectorAll('th[data-sort]')) {
      th.setAttribute('aria-sort', th.dataset.sort === key ? (dir > 0 ? 'ascending' : 'descending') : 'none');
    }
    const frag = document.createDocumentFragment();
    for (const r of sorted.slice(0, this.limit)) frag.appendChild(row(r, this.onSelect));
    this.tbody.replaceChildren(frag);
    const shown = Math.min(this.limit, sorted.length);
    this.more.hidden = shown >= sorted.length;
    this.more.textContent = t('showMore', { n: Math.min(PAGE, sorted.length - shown) });
    this.shown.textContent = sorted.length > PAGE ? t('tableShown', { shown, total: sorted.length }) : '';
  }

  // reset shows the first page again (after a filter changed).
  reset() {
    this.limit = PAGE;
  }

  // button returns the row's button of a device, to return focus to.
  button(id) {
    return this.tbody.querySelector(`tr[data-device="${CSS.escape(id)}"] button`);
  }
}

function sortValue(r, key) {
  switch (key) {
    case 'value': return r.value ?? -Infinity;
    case 'band': return r.band;
    case 'time': return r.time ? r.time.getTime() : 0;
    case 'kind': return r.kindName;
    case 'district': return r.district || '';
    default: return r.name;
  }
}

function compare(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

function row(r, onSelect) {
  const tr = document.createElement('tr');
  tr.dataset.device = r.id;
  const name = document.createElement('th');
  name.scope = 'row';
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'link';
  b.textContent = r.name;
  b.addEventListener('click', () => onSelect(r.id, b));
  name.appendChild(b);
  tr.appendChild(name);
  const value = r.value === undefined ? t('noValue') : `${fmtNumber(r.value)} ${r.unit}`;
  tr.append(cell(r.kindName, 'kind'), cell(r.district || t('noDistrict')), cell(value, 'num'));
  const band = cell('');
  band.appendChild(swatch(r));
  if (r.alert) {
    const warn = document.createElement('span');
    warn.className = 'warn';
    warn.textContent = ` ${t('metaAlert')}`;
    band.append(' ', warn);
  }
  tr.appendChild(band);
  tr.appendChild(cell(r.time ? fmtTime(r.time) : t('noData')));
  return tr;
}

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

// swatch is a colour chip with its digit and the band's name in words.
export function swatch(r) {
  const span = document.createElement('span');
  span.className = 'band';
  const chip = document.createElement('span');
  chip.className = `chip ${r.colour.cls}`;
  chip.textContent = r.digit;
  chip.setAttribute('aria-hidden', 'true');
  span.append(chip, ' ', r.bandName);
  return span;
}
