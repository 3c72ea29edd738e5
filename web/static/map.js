// The map: districts as the base layer (tiles only when the operator
// configured a tile server), one keyboard-reachable marker per device.
import { t } from './i18n.js';
import { colourOf } from './quantities.js';

const L = window.L;

// Above this many markers on the map, nearby markers are clustered;
// ?cluster=N in the page's URL sets another limit.
const CLUSTER_ABOVE = Number(new URLSearchParams(location.search).get('cluster')) || 200;

export class DeviceMap {
  // el is the map's element; onSelect(id, markerElement) opens a device.
  constructor(el, onSelect) {
    this.onSelect = onSelect;
    this.markers = new Map(); // id -> {marker, key}
    this.still = matchMedia('(prefers-reduced-motion: reduce)').matches; // no animations for those who asked
    this.map = L.map(el, {
      zoomSnap: 0.5, minZoom: 9, maxZoom: 18, zoomAnimation: !this.still, fadeAnimation: !this.still, markerZoomAnimation: !this.still,
    }).setView([48.7784, 9.18], 12);
    this.map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    const tiles = document.querySelector('meta[name="kessel-tiles"]')?.content;
    if (tiles) {
      const attribution = document.querySelector('meta[name="kessel-tiles-attribution"]')?.content || '';
      L.tileLayer(tiles, { attribution, maxZoom: 19 }).addTo(this.map);
    }
    this.districtLayer = L.geoJSON(null, { style: () => districtStyle(null) }).addTo(this.map);
    this.deviceLayer = null;
    this.clustered = false;
    this.worseLow = false;
    this.useLayer(false);
    this.fitted = false;
    new ResizeObserver(() => this.map.invalidateSize()).observe(el);
  }

  // setDistricts draws the district polygons and fits the view to them.
  setDistricts(fc) {
    this.districtLayer.clearLayers();
    if (!fc || !fc.features || fc.features.length === 0) return;
    this.districtLayer.addData(fc);
    this.map.fitBounds(this.districtLayer.getBounds(), { padding: [8, 8] });
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
      const tip = document.createElement('span'); // text: Leaflet would parse a string as HTML
      tip.textContent = label;
      layer.bindTooltip(tip, { sticky: true });
    });
  }

  // update shows rows (devices with a location) as markers; alerting is a
  // Set of device ids with an active alert; worseLow tells that low bands
  // are the bad ones (frost), for the colour of a cluster.
  update(rows, alerting, worseLow) {
    const placed = rows.filter((r) => r.lat != null && r.lon != null);
    this.worseLow = worseLow;
    this.useLayer(placed.length > CLUSTER_ABOVE);
    const seen = new Set();
    const added = [];
    for (const r of placed) {
      seen.add(r.id);
      const alert = alerting.has(r.id);
      const key = [r.colour.cls, r.digit, r.label, alert].join('|');
      let m = this.markers.get(r.id);
      if (!m) {
        m = { marker: this.newMarker(r), key: '' };
        this.markers.set(r.id, m);
        added.push(m.marker);
      } else if (!m.marker.getLatLng().equals([r.lat, r.lon])) {
        m.marker.setLatLng([r.lat, r.lon]); // a mobile sensor: its latest place only
        describe(m.marker);
      }
      if (m.key !== key) {
        m.key = key;
        m.marker.options.kessel = { id: r.id, label: r.label, band: r.band, bandName: r.bandName, cls: r.colour.cls };
        m.marker.setIcon(icon(r, alert));
        describe(m.marker);
      }
    }
    const gone = [];
    for (const [id, m] of this.markers) {
      if (!seen.has(id)) {
        gone.push(m.marker);
        this.markers.delete(id);
      }
    }
    this.place(added, gone);
    if (!this.fitted && this.markers.size > 0) { // once: the districts and every device in view
      const bounds = L.latLngBounds([...this.markers.values()].map((m) => m.marker.getLatLng()));
      if (this.districtLayer.getLayers().length > 0) bounds.extend(this.districtLayer.getBounds());
      this.map.fitBounds(bounds, { padding: [20, 20] });
      this.fitted = true;
    }
  }

  newMarker(r) {
    const marker = L.marker([r.lat, r.lon], { icon: icon(r, false), keyboard: true, riseOnHover: true });
    const open = () => this.onSelect(r.id, marker.getElement());
    marker.on('click', open);
    marker.on('add', () => { // the element is new each time the marker is shown
      describe(marker);
      marker.getElement().addEventListener('keydown', (e) => {
        if (e.key !== 'Enter' && e.key !== ' ') return;
        e.preventDefault(); // a button opens on Enter and Space, once
        open();
      });
    });
    return marker;
  }

  // useLayer puts the markers into clusters when there are many, so that
  // a city of thousands stays readable and fast, and into a plain layer
  // otherwise.
  useLayer(clustered) {
    if (this.deviceLayer && this.clustered === clustered) return;
    if (this.deviceLayer) this.deviceLayer.remove();
    this.clustered = clustered;
    this.deviceLayer = clustered
      ? L.markerClusterGroup({
        iconCreateFunction: (c) => clusterIcon(c, this.worseLow), showCoverageOnHover: false, maxClusterRadius: 45, chunkedLoading: true, animate: !this.still,
      })
      : L.layerGroup();
    this.deviceLayer.addTo(this.map);
    this.place([...this.markers.values()].map((m) => m.marker), []);
  }

  place(added, gone) {
    if (this.clustered) {
      this.deviceLayer.removeLayers(gone);
      this.deviceLayer.addLayers(added);
      this.deviceLayer.refreshClusters();
      return;
    }
    for (const m of gone) this.deviceLayer.removeLayer(m);
    for (const m of added) this.deviceLayer.addLayer(m);
  }

  // markerElement returns the marker of a device, to return focus to.
  markerElement(id) {
    return this.markers.get(id)?.marker.getElement();
  }

  // show centres the map on a device, after the layout has settled (the
  // panel that opens with it narrows the map on wide screens), and opens
  // its cluster if it is in one.
  show(id) {
    requestAnimationFrame(() => {
      const m = this.markers.get(id);
      if (!m) return;
      this.map.invalidateSize();
      if (this.clustered) this.deviceLayer.zoomToShowLayer(m.marker);
      else this.map.panTo(m.marker.getLatLng());
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

// describe gives a shown marker its accessible name and device id.
function describe(marker) {
  const el = marker.getElement();
  const k = marker.options.kessel;
  if (!el || !k) return;
  el.setAttribute('aria-label', k.label);
  el.dataset.device = k.id;
  const at = marker.getLatLng();
  el.dataset.lon = String(at.lng);
  el.dataset.lat = String(at.lat);
  el.removeAttribute('title');
}

// clusterIcon shows how many devices a cluster holds, coloured by the
// worst band among them, and says both in words.
function clusterIcon(cluster, worseLow) {
  const children = cluster.getAllChildMarkers();
  let worst = null;
  for (const m of children) {
    const k = m.options.kessel;
    if (!k || k.band < 0) continue;
    if (!worst || (worseLow ? k.band < worst.band : k.band > worst.band)) worst = k;
  }
  const span = document.createElement('span');
  span.className = `cl-in ${worst ? worst.cls : 'c0'}`;
  const words = document.createElement('span');
  words.className = 'vh';
  words.textContent = t('clusterLabel', { n: children.length, band: worst ? worst.bandName : t('noData') });
  const count = document.createElement('span');
  count.setAttribute('aria-hidden', 'true');
  count.textContent = String(children.length);
  span.append(words, count);
  return L.divIcon({ className: 'mk cl', html: span, iconSize: [38, 38], iconAnchor: [19, 19] });
}
