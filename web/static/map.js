// The map: districts as the base layer (tiles only when the operator
// configured a tile server), one keyboard-reachable marker per device.
import { t } from './i18n.js';
import { colourOf } from './quantities.js';

const L = window.L;

export class DeviceMap {
  // el is the map's element; onSelect(id, markerElement) opens a device.
  constructor(el, onSelect) {
    this.onSelect = onSelect;
    this.markers = new Map(); // id -> {marker, key}
    this.map = L.map(el, { zoomSnap: 0.5, minZoom: 9, maxZoom: 18 }).setView([48.7784, 9.18], 12);
    this.map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    const tiles = document.querySelector('meta[name="kessel-tiles"]')?.content;
    if (tiles) {
      const attribution = document.querySelector('meta[name="kessel-tiles-attribution"]')?.content || '';
      L.tileLayer(tiles, { attribution, maxZoom: 19 }).addTo(this.map);
    }
    this.districtLayer = L.geoJSON(null, { style: () => districtStyle(null) }).addTo(this.map);
    this.deviceLayer = L.layerGroup().addTo(this.map);
    this.fitted = false;
    new ResizeObserver(() => this.map.invalidateSize()).observe(el);
  }

  // setDistricts draws the district polygons and fits the view to them.
  setDistricts(fc) {
    this.districtLayer.clearLayers();
    if (!fc || !fc.features || fc.features.length === 0) return;
    this.districtLayer.addData(fc);
    this.map.fitBounds(this.districtLayer.getBounds(), { padding: [8, 8] });
    this.fitted = true;
  }

  // shadeDistricts colours each district by the band of its mean, and
  // outlines the districts with an area alert (a Map name -> alert).
  shadeDistricts(means, q, fmt, alerts) {
    this.districtLayer.eachLayer((layer) => {
      const name = layer.feature.properties.name;
      const m = means.get(name);
      const alert = alerts.get(name);
      layer.setStyle(districtStyle(m ? colourOf(q, m.band) : null, alert));
      let label = m ? `${name}: ${fmt(m.mean)} (${m.bandName})` : `${name}: ${t('noData')}`;
      if (alert) label += `. ${t('metaAlert')}: ${alert.summary || alert.rule_id}`;
      layer.bindTooltip(label, { sticky: true });
    });
  }

  // update shows rows (devices with a location) as markers; alerting is a
  // Set of device ids with an active alert.
  update(rows, alerting) {
    const seen = new Set();
    for (const r of rows) {
      if (r.lat == null || r.lon == null) continue;
      seen.add(r.id);
      const key = [r.colour.cls, r.digit, r.label, alerting.has(r.id)].join('|');
      let m = this.markers.get(r.id);
      if (!m) {
        const marker = L.marker([r.lat, r.lon], { icon: icon(r, alerting.has(r.id)), keyboard: true, riseOnHover: true });
        marker.on('click', () => this.onSelect(r.id, marker.getElement()));
        marker.on('add', () => marker.getElement().addEventListener('keydown', (e) => {
          if (e.key !== 'Enter' && e.key !== ' ') return;
          e.preventDefault(); // a button opens on Enter and Space, once
          this.onSelect(r.id, marker.getElement());
        }));
        m = { marker, key: '' };
        this.markers.set(r.id, m);
        marker.addTo(this.deviceLayer);
      } else {
        m.marker.setLatLng([r.lat, r.lon]);
      }
      if (m.key !== key) {
        m.key = key;
        m.marker.setIcon(icon(r, alerting.has(r.id)));
        const el = m.marker.getElement();
        el.setAttribute('aria-label', r.label);
        el.dataset.device = r.id;
        el.removeAttribute('title');
      }
    }
    for (const [id, m] of this.markers) {
      if (!seen.has(id)) {
        m.marker.remove();
        this.markers.delete(id);
      }
    }
    if (!this.fitted && this.markers.size > 0) {
      this.map.fitBounds(L.latLngBounds([...this.markers.values()].map((m) => m.marker.getLatLng())), { padding: [20, 20] });
      this.fitted = true;
    }
  }

  // markerElement returns the marker of a device, to return focus to.
  markerElement(id) {
    return this.markers.get(id)?.marker.getElement();
  }

  // show centres the map on a device, after the layout has settled (the
  // panel that opens with it narrows the map on wide screens).
  show(id) {
    requestAnimationFrame(() => {
      const m = this.markers.get(id);
      if (!m) return;
      this.map.invalidateSize();
      this.map.panTo(m.marker.getLatLng());
    });
  }

  setLabel(text) {
    this.map.getContainer().setAttribute('aria-label', text);
  }
}

function districtStyle(colour, alert) {
  return {
    color: '#1d2733', weight: alert ? 4 : 1.5, opacity: 0.9, dashArray: alert ? '8 5' : null,
    fillColor: colour ? colour.fill : '#ffffff', fillOpacity: colour ? 0.45 : 0.15,
  };
}

function icon(r, alert) {
  const span = document.createElement('span');
  span.className = `mk-in ${r.colour.cls}${alert ? ' alerting' : ''}`;
  span.textContent = r.digit;
  return L.divIcon({ className: 'mk', html: span, iconSize: [26, 26], iconAnchor: [13, 13] });
}
