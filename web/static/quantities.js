// The quantities a visitor can colour the map by, their units and bands.
// Bands are upper bounds: a value v is in band i when v <= bounds[i] (or
// v < bounds[i] where the scale says strict), else in the last band. Their
// names are in i18n.js under bands.<scale>.

// Palettes from ColorBrewer's RdYlBu, rated safe for colour-blind viewers;
// each colour also carries a digit and a named band, so no information is
// given by colour alone. text is the digit's colour (contrast ≥ 4.5:1);
// cls is the CSS class (style.css) that paints both.
const blue = { fill: '#2c7bb6', text: '#ffffff', cls: 'c1' };
const lightBlue = { fill: '#abd9e9', text: '#000000', cls: 'c2' };
const yellow = { fill: '#ffffbf', text: '#000000', cls: 'c3' };
const orange = { fill: '#fdae61', text: '#000000', cls: 'c4' };
const red = { fill: '#d7191c', text: '#ffffff', cls: 'c5' };
export const noDataColour = { fill: '#d9d9d9', text: '#000000', cls: 'c0' };

const five = [blue, lightBlue, yellow, orange, red];
const four = [blue, lightBlue, orange, red];

export const scales = {
  uba: { colours: five, note: 'legendOfficialUBA' },
  frost: { colours: [blue, lightBlue, yellow], note: 'legendFrost', strict: true },
  temp: { colours: five, note: 'legendGuide', strict: true },
  noise: { colours: five, note: 'legendGuide' },
  level: { colours: four, note: 'legendGuide' },
  percent: { colours: four, note: 'legendGuide', strict: true },
};

// The UBA index bands (µg/m³): PM10 and PM2.5 as daily means, NO2 as
// hourly means, which the latest reading stands in for.
export const quantities = [
  { id: 'pm10', kind: 'air_quality', field: 'pm10', unit: 'µg/m³', scale: 'uba', bounds: [20, 35, 50, 100] },
  { id: 'pm25', kind: 'air_quality', field: 'pm25', unit: 'µg/m³', scale: 'uba', bounds: [10, 20, 25, 50] },
  { id: 'no2', kind: 'air_quality', field: 'no2', unit: 'µg/m³', scale: 'uba', bounds: [20, 40, 100, 200] },
  { id: 'laeq', kind: 'noise', field: 'laeq', unit: 'dB(A)', scale: 'noise', bounds: [45, 55, 65, 75] },
  { id: 'temperature', kind: 'weather', field: 'temperature', unit: '°C', scale: 'temp', bounds: [0, 10, 20, 30] },
  { id: 'surface', kind: 'road_surface', field: 'surface_temperature', unit: '°C', scale: 'frost', bounds: [0, 3] },
  { id: 'level', kind: 'water_level', field: 'level', unit: 'cm', scale: 'level', bounds: [100, 150, 200] },
  {
    id: 'parking', kind: 'parking', field: 'occupancy', unit: '%', scale: 'percent', bounds: [50, 80, 95],
    value: (v) => (v.occupied + v.free > 0 ? (100 * v.occupied) / (v.occupied + v.free) : undefined),
  },
  { id: 'fill', kind: 'waste_bin', field: 'fill', unit: '%', scale: 'percent', bounds: [50, 80, 95] },
];

// unitOf returns the symbol of a field's unit as the API gives it with
// each reading (latest.units, from the server's one unit table), or ''.
// Radio and transport data (rssi, f_cnt, …) are not among the values:
// the API keeps them apart, under latest.link.
export function unitOf(units, field) {
  return units?.[field]?.symbol || '';
}

export function byId(id) { return quantities.find((q) => q.id === id) || quantities[0]; }

// valueOf returns the quantity's value in a reading's values, or undefined.
export function valueOf(q, values) {
  if (!values) return undefined;
  const v = q.value ? q.value(values) : values[q.field];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

// bandOf returns the index of v's band, or -1 when there is no value.
export function bandOf(q, v) {
  if (v === undefined) return -1;
  const strict = scales[q.scale].strict;
  for (let i = 0; i < q.bounds.length; i++) {
    if (strict ? v < q.bounds[i] : v <= q.bounds[i]) return i;
  }
  return q.bounds.length;
}

export function colourOf(q, band) {
  return band < 0 ? noDataColour : scales[q.scale].colours[band];
}

// deviceBand rates v by the warning levels a device declares for the
// quantity's field (a gauge's flood warning stages) instead of the
// quantity's bands: band 0 below the first level, i once level i is
// reached, named after the level. It returns null when the device
// declares none for the field.
export function deviceBand(q, levels, v) {
  const ls = levels?.[q.field];
  if (q.value || !Array.isArray(ls) || ls.length === 0) return null;
  if (v === undefined) return { band: -1, colour: noDataColour, name: null };
  let i = 0;
  ls.forEach((l, j) => { if (v >= l.value) i = j + 1; });
  const colours = scales.level.colours;
  const c = i === 0 ? colours[0] : colours[Math.max(1, Math.round((i * (colours.length - 1)) / ls.length))];
  return { band: i, colour: c, name: i === 0 ? null : ls[i - 1].name };
}
