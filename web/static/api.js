// Reads Kessel's public API, and nothing else: every URL here is relative.

const cache = new Map(); // url -> {etag, body}

// stats counts answers, so that tests and curious visitors can see that a
// refresh with nothing new costs a 304 and no body.
export const stats = { ok: 0, notModified: 0 };

// getJSON fetches url, sending If-None-Match with the ETag of the last
// answer; on 304 it returns the body it already holds. changed tells
// whether the body is new.
export async function getJSON(url, accept = 'application/json') {
  const held = cache.get(url);
  const headers = { Accept: accept };
  if (held) headers['If-None-Match'] = held.etag;
  const resp = await fetch(url, { headers, cache: 'no-store' });
  if (resp.status === 304 && held) {
    stats.notModified++;
    return { body: held.body, changed: false };
  }
  if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
  const body = await resp.json();
  stats.ok++;
  const etag = resp.headers.get('ETag');
  if (etag) cache.set(url, { etag, body });
  return { body, changed: true };
}

// latest returns every public device with its latest reading, following
// next_cursor across pages. changed is false when no page changed.
export async function latest() {
  const items = [];
  let changed = false;
  let url = '/api/v1/latest?limit=10000';
  for (let pages = 0; url && pages < 100; pages++) {
    const r = await getJSON(url);
    changed = changed || r.changed;
    items.push(...(r.body.items || []));
    url = r.body.next_cursor ? `/api/v1/latest?limit=10000&cursor=${encodeURIComponent(r.body.next_cursor)}` : '';
  }
  return { items, changed };
}

export async function districts() {
  return (await getJSON('/api/v1/districts', 'application/geo+json')).body;
}

export async function firingAlerts() {
  return (await getJSON('/api/v1/alerts?state=firing')).body.items || [];
}

export async function catalog() {
  return (await getJSON('/api/v1/catalog', 'application/ld+json')).body;
}

// history returns a device's readings of one field: every hour over the
// last 24 hours, or daily means over the last 30 days.
export async function history(id, field, span) {
  const q = span === '30d' ? 'from=-30d&every=1d&fn=mean' : 'from=-24h&every=1h&fn=mean';
  const url = `/api/v1/devices/${encodeURIComponent(id)}/readings?${q}&fields=${encodeURIComponent(field)}`;
  return (await getJSON(url)).body.items || [];
}

// quality returns a device's share of values passing quality control
// over the last day, week and month.
export async function quality(id) {
  return (await getJSON(`/api/v1/devices/${encodeURIComponent(id)}/quality`)).body;
}

export function csvURL(id) {
  return `/api/v1/devices/${encodeURIComponent(id)}/readings?from=-24h&format=csv`;
}

export function geojsonURL(id) {
  return `/api/v1/devices/${encodeURIComponent(id)}/readings?from=-24h&format=geojson`;
}
