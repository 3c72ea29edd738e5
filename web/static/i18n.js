// All text of the page, in one table per language. Another city translates
// the page by adding a language here (and its button label in langName).
// Keys used in index.html appear there as data-i18n="key".
export const texts = {
  de: {
    langName: 'Deutsch',
    title: 'Messwerte der Stadt',
    subtitle: 'Luft, Lärm, Wasser und Verkehr: die öffentlichen Messstellen der Stadt, laufend aktualisiert.',
    skipToList: 'Zur Tabelle springen',
    alertsHeading: 'Aktuelle Warnungen',
    quantityLabel: 'Messgröße',
    districtLabel: 'Stadtbezirk',
    allDistricts: 'Alle Stadtbezirke',
    kindLabel: 'Art der Messstelle',
    allKinds: 'Alle Arten',
    mapHeading: 'Karte',
    mapNote: 'Die Tabelle unter der Karte enthält dieselben Messstellen als Text.',
    mapLabel: 'Karte der Messstellen für {q}. Die Tabelle unter der Karte enthält dieselben Angaben.',
    legendHeading: 'Legende',
    close: 'Schließen',
    currentValues: 'Aktuelle Werte',
    chart24h: 'Letzte 24 Stunden',
    chart30d: 'Tagesmittel der letzten 30 Tage',
    chartEmpty: 'Keine Messwerte in diesem Zeitraum.',
    chartLoading: 'Verlauf wird geladen …',
    chartError: 'Der Verlauf konnte nicht geladen werden.',
    chartSummary: '{q}: {n} Werte von {from} bis {to}, kleinster {min}, größter {max}, zuletzt {last}.',
    downloads: 'Herunterladen',
    downloadCSV: 'Messwerte der letzten 24 Stunden (CSV)',
    downloadGeoJSON: 'Messwerte der letzten 24 Stunden (GeoJSON)',
    listHeading: 'Alle Messstellen',
    tableCaption: '{n} Messstellen, Wert: {q}. Spaltenköpfe sortieren die Tabelle.',
    districtsHeading: 'Stadtbezirke',
    districtCaption: 'Mittelwert von {q} je Stadtbezirk aus den aktuellen Werten.',
    colName: 'Name',
    colKind: 'Art',
    colDistrict: 'Stadtbezirk',
    colValue: 'Wert',
    colBand: 'Bewertung',
    colTime: 'Stand',
    colQuantity: 'Messgröße',
    colMean: 'Mittelwert',
    colCount: 'Messstellen',
    tableShown: '{shown} von {total} Messstellen angezeigt.',
    showMore: 'Weitere {n} anzeigen',
    sortDesc: 'absteigend sortiert',
    metaKind: 'Art',
    metaDistrict: 'Stadtbezirk',
    metaUpdated: 'Letzte Meldung',
    metaAlert: 'Warnung',
    metaQuality: 'Datenqualität',
    qualityLine: '{day} (24 h), {week} (7 Tage), {month} (30 Tage) der Werte bestehen die Prüfung',
    qualityNone: 'noch keine geprüften Werte',
    noDistrict: 'außerhalb der Stadtbezirke',
    noData: 'keine Daten',
    noValue: 'kein Wert',
    loading: 'Daten werden geladen …',
    updated: 'Stand {time}: {n} Messstellen.',
    loadError: 'Die Daten konnten nicht geladen werden ({err}). Neuer Versuch in Kürze.',
    noAlerts: 'Zurzeit keine Warnungen.',
    alertSince: 'seit {time}',
    alertIn: 'in {district}',
    alertOpen: 'Messstelle {name} anzeigen',
    markerLabel: '{name}: {value}, Stufe {digit}: {band}',
    clusterLabel: '{n} Messstellen, ungünstigste Bewertung: {band}. Auswählen vergrößert die Karte.',
    clusterNote: 'Kreise mit doppeltem Rand fassen nahe Messstellen zusammen: die Zahl sagt, wie viele, die Farbe zeigt die ungünstigste Bewertung darunter.',
    explainHeading: 'Was bedeuten die Werte?',
    legendOfficialUBA: 'Stufen des Luftqualitätsindex des Umweltbundesamts.',
    legendFrost: 'Unter 0 °C kann die Fahrbahn gefrieren.',
    legendGuide: 'Keine amtlichen Stufen: die Einteilung dient nur der Orientierung.',
    legendOwnLevels: 'Messstellen mit eigenen Warnstufen (etwa den Meldestufen eines Pegels) sind nach diesen eingestuft; die Stufe steht mit ihrem Namen beim Wert.',
    belowLevel: 'unter {level}',
    licenceText: 'Daten: {publisher}, Lizenz: {licence}. Bei Weiterverwendung bitte die Quelle nennen.',
    licenceName: 'Datenlizenz Deutschland – Namensnennung – Version 2.0',
    linkDocs: 'Schnittstelle (API) für eigene Anwendungen',
    linkCatalog: 'Offene-Daten-Katalog',
    linkLicence: 'Datenlizenz Deutschland – Namensnennung – 2.0',
    kinds: {
      air_quality: 'Luftqualität', noise: 'Lärm', traffic: 'Verkehr', parking: 'Parken', weather: 'Wetter',
      water_level: 'Pegel', road_surface: 'Straßenzustand', waste_bin: 'Abfallbehälter', wildfire: 'Waldbrand',
    },
    quantities: {
      pm10: 'Feinstaub PM10', pm25: 'Feinstaub PM2,5', no2: 'Stickstoffdioxid (NO₂)', laeq: 'Lärmpegel',
      temperature: 'Lufttemperatur', surface: 'Fahrbahntemperatur', level: 'Wasserstand',
      parking: 'Belegung der Parkplätze', fill: 'Füllstand der Abfallbehälter',
    },
    fields: {
      pm10: 'Feinstaub PM10', pm25: 'Feinstaub PM2,5', no2: 'Stickstoffdioxid', temperature: 'Temperatur',
      humidity: 'Luftfeuchte', pressure: 'Luftdruck', wind: 'Wind', rain: 'Niederschlag', laeq: 'Mittelungspegel',
      lamax: 'Spitzenpegel', level: 'Wasserstand', occupied: 'belegte Plätze', free: 'freie Plätze',
      surface_temperature: 'Fahrbahntemperatur', freezing_point: 'Gefrierpunkt', wetness: 'Nässe',
      vehicles: 'Fahrzeuge', speed: 'Geschwindigkeit', fill: 'Füllstand', smoke: 'Rauch', battery: 'Batterie',
      occupancy: 'Belegung',
    },
    bands: {
      uba: ['sehr gut', 'gut', 'mäßig', 'schlecht', 'sehr schlecht'],
      frost: ['Frost: Glättegefahr', 'nahe am Gefrierpunkt', 'kein Frost'],
      temp: ['unter 0 °C', '0 bis 10 °C', '10 bis 20 °C', '20 bis 30 °C', 'über 30 °C'],
      noise: ['ruhig (bis 45 dB)', 'mäßig (bis 55 dB)', 'laut (bis 65 dB)', 'sehr laut (bis 75 dB)', 'extrem laut (über 75 dB)'],
      level: ['niedrig (bis 100 cm)', 'mittel (bis 150 cm)', 'hoch (bis 200 cm)', 'sehr hoch (über 200 cm)'],
      percent: ['unter 50 %', '50 bis 80 %', '80 bis 95 %', 'über 95 %'],
    },
    explain: [
      'Jeder Punkt auf der Karte ist eine Messstelle der Stadt. Die Farbe und die Ziffer im Punkt zeigen, wie der letzte Messwert einzuordnen ist; die Legende erklärt jede Stufe in Worten.',
      'Feinstaub (PM10 und PM2,5) und Stickstoffdioxid werden in Mikrogramm je Kubikmeter Luft (µg/m³) gemessen. Die Stufen von „sehr gut“ bis „sehr schlecht“ sind die des Luftqualitätsindex des Umweltbundesamts. Bei „schlecht“ und „sehr schlecht“ sollten empfindliche Menschen längere Anstrengung im Freien meiden.',
      'Die Karte zeigt den jeweils letzten Messwert. Das Umweltbundesamt bewertet Feinstaub nach dem Mittel der letzten 24 Stunden und Stickstoffdioxid nach dem Mittel einer Stunde; ein einzelner Wert kann davon abweichen. Den Verlauf zeigt das Feld einer Messstelle.',
      'Lärm wird in Dezibel (dB(A)) gemessen. 10 dB mehr empfindet man etwa als doppelt so laut.',
      'Liegt die Temperatur der Fahrbahn unter 0 °C, kann sie glatt werden.',
      'Die Werte sind Messungen einzelner Geräte und können kurzzeitig schwanken. Sie sind keine amtliche Warnung; amtliche Warnungen stehen oben auf der Seite.',
    ],
  },
  en: {
    langName: 'English',
    title: 'City measurements',
    subtitle: 'Air, noise, water and traffic: the city\'s public sensors, updated continuously.',
    skipToList: 'Skip to the table',
    alertsHeading: 'Current warnings',
    quantityLabel: 'Quantity',
    districtLabel: 'District',
    allDistricts: 'All districts',
    kindLabel: 'Kind of sensor',
    allKinds: 'All kinds',
    mapHeading: 'Map',
    mapNote: 'The table below the map lists the same sensors as text.',
    mapLabel: 'Map of the sensors for {q}. The table below the map holds the same information.',
    legendHeading: 'Legend',
    close: 'Close',
    currentValues: 'Current values',
    chart24h: 'Last 24 hours',
    chart30d: 'Daily means of the last 30 days',
    chartEmpty: 'No values in this period.',
    chartLoading: 'Loading the history …',
    chartError: 'The history could not be loaded.',
    chartSummary: '{q}: {n} values from {from} to {to}, lowest {min}, highest {max}, latest {last}.',
    downloads: 'Download',
    downloadCSV: 'Values of the last 24 hours (CSV)',
    downloadGeoJSON: 'Values of the last 24 hours (GeoJSON)',
    listHeading: 'All sensors',
    tableCaption: '{n} sensors, value: {q}. Column headers sort the table.',
    districtsHeading: 'Districts',
    districtCaption: 'Mean of {q} per district from the current values.',
    colName: 'Name',
    colKind: 'Kind',
    colDistrict: 'District',
    colValue: 'Value',
    colBand: 'Rating',
    colTime: 'As of',
    colQuantity: 'Quantity',
    colMean: 'Mean',
    colCount: 'Sensors',
    tableShown: 'Showing {shown} of {total} sensors.',
    showMore: 'Show {n} more',
    sortDesc: 'sorted descending',
    metaKind: 'Kind',
    metaDistrict: 'District',
    metaUpdated: 'Last report',
    metaAlert: 'Warning',
    metaQuality: 'Data quality',
    qualityLine: '{day} (24 h), {week} (7 days), {month} (30 days) of the values pass quality control',
    qualityNone: 'no checked values yet',
    noDistrict: 'outside the districts',
    noData: 'no data',
    noValue: 'no value',
    loading: 'Loading data …',
    updated: 'As of {time}: {n} sensors.',
    loadError: 'The data could not be loaded ({err}). Trying again shortly.',
    noAlerts: 'No warnings at present.',
    alertSince: 'since {time}',
    alertIn: 'in {district}',
    alertOpen: 'Show sensor {name}',
    markerLabel: '{name}: {value}, band {digit}: {band}',
    clusterLabel: '{n} sensors, worst rating: {band}. Select to zoom in.',
    clusterNote: 'Circles with a double border group nearby sensors: the number says how many, the colour shows the worst rating among them.',
    explainHeading: 'What do the values mean?',
    legendOfficialUBA: 'Bands of the German Environment Agency\'s (UBA) air quality index.',
    legendFrost: 'Below 0 °C the road surface can freeze.',
    legendGuide: 'No official bands: the classes are a rough guide only.',
    legendOwnLevels: 'Sensors with warning levels of their own (such as a gauge\'s flood warning stages) are rated by those; the level is named beside the value.',
    belowLevel: 'below {level}',
    licenceText: 'Data: {publisher}, licence: {licence}. Please name the source when you reuse the data.',
    licenceName: 'Data licence Germany – attribution – version 2.0',
    linkDocs: 'API for your own applications',
    linkCatalog: 'Open data catalogue',
    linkLicence: 'Data licence Germany – attribution – 2.0',
    kinds: {
      air_quality: 'Air quality', noise: 'Noise', traffic: 'Traffic', parking: 'Parking', weather: 'Weather',
      water_level: 'Water level', road_surface: 'Road surface', waste_bin: 'Waste bin', wildfire: 'Wildfire',
    },
    quantities: {
      pm10: 'Particulate matter PM10', pm25: 'Particulate matter PM2.5', no2: 'Nitrogen dioxide (NO₂)', laeq: 'Noise level',
      temperature: 'Air temperature', surface: 'Road surface temperature', level: 'Water level',
      parking: 'Parking occupancy', fill: 'Waste bin fill level',
    },
    fields: {
      pm10: 'Particulate matter PM10', pm25: 'Particulate matter PM2.5', no2: 'Nitrogen dioxide', temperature: 'Temperature',
      humidity: 'Humidity', pressure: 'Air pressure', wind: 'Wind', rain: 'Rain', laeq: 'Equivalent level',
      lamax: 'Peak level', level: 'Water level', occupied: 'occupied spaces', free: 'free spaces',
      surface_temperature: 'Road surface temperature', freezing_point: 'Freezing point', wetness: 'Wetness',
      vehicles: 'Vehicles', speed: 'Speed', fill: 'Fill level', smoke: 'Smoke', battery: 'Battery',
      occupancy: 'Occupancy',
    },
    bands: {
      uba: ['very good', 'good', 'moderate', 'poor', 'very poor'],
      frost: ['frost: risk of ice', 'near freezing', 'no frost'],
      temp: ['below 0 °C', '0 to 10 °C', '10 to 20 °C', '20 to 30 °C', 'above 30 °C'],
      noise: ['quiet (up to 45 dB)', 'moderate (up to 55 dB)', 'loud (up to 65 dB)', 'very loud (up to 75 dB)', 'extremely loud (above 75 dB)'],
      level: ['low (up to 100 cm)', 'medium (up to 150 cm)', 'high (up to 200 cm)', 'very high (above 200 cm)'],
      percent: ['below 50 %', '50 to 80 %', '80 to 95 %', 'above 95 %'],
    },
    explain: [
      'Each dot on the map is one of the city\'s sensors. Its colour and the digit inside show how the latest value rates; the legend names every band in words.',
      'Particulate matter (PM10 and PM2.5) and nitrogen dioxide are measured in micrograms per cubic metre of air (µg/m³). The bands from "very good" to "very poor" are those of the German Environment Agency\'s air quality index. At "poor" and "very poor", sensitive people should avoid long exertion outdoors.',
      'The map shows the latest value of each sensor. The German Environment Agency rates particulate matter by the mean of the last 24 hours and nitrogen dioxide by the mean of one hour; a single value can differ. A sensor\'s panel shows its history.',
      'Noise is measured in decibels (dB(A)). 10 dB more sounds about twice as loud.',
      'When the road surface is below 0 °C, it can become icy.',
      'The values are measurements of single devices and can vary for short periods. They are not official warnings; official warnings are shown at the top of the page.',
    ],
  },
};

export const languages = Object.keys(texts);

let current = 'de';

// lang returns the language in use.
export function lang() { return current; }

// t returns the text for key in the current language, with {name}
// placeholders replaced from vars. A missing key is returned as itself so
// that a gap in a translation shows, rather than breaking the page.
export function t(key, vars = {}) {
  const s = raw(key);
  if (s == null) return key;
  return String(s).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? vars[k] : m));
}

// raw returns the entry for key as it is in the table (a string, list or
// map), or undefined.
export function raw(key) {
  return key.split('.').reduce((o, k) => (o == null ? o : o[k]), texts[current]);
}

// setLang switches the language and rewrites every data-i18n element.
export function setLang(l) {
  current = texts[l] ? l : 'de';
  document.documentElement.lang = current;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
}

// Formatters are costly to make; one of each per language and kind.
const formatters = new Map();
function formatter(kind, opts, make) {
  const key = `${current}|${kind}`;
  if (!formatters.has(key)) formatters.set(key, make(current, opts));
  return formatters.get(key);
}

// fmtNumber formats a value for the current language.
export function fmtNumber(v, digits = 1) {
  return formatter(`n${digits}`, { maximumFractionDigits: digits }, (l, o) => new Intl.NumberFormat(l, o)).format(v);
}

// fmtTime formats an instant as local date and time.
export function fmtTime(d) {
  return formatter('t', { dateStyle: 'short', timeStyle: 'short' }, (l, o) => new Intl.DateTimeFormat(l, o)).format(d);
}

// fmtAgo says how long ago d was ("vor 2 Minuten", "2 minutes ago").
export function fmtAgo(d, now = new Date()) {
  const rtf = new Intl.RelativeTimeFormat(current, { numeric: 'auto' });
  const s = Math.round((d - now) / 1000);
  const units = [['day', 86400], ['hour', 3600], ['minute', 60]];
  for (const [u, n] of units) if (Math.abs(s) >= n) return rtf.format(Math.trunc(s / n), u);
  return rtf.format(s, 'second');
}
