package api

import "maps"

// The components of the OpenAPI document: shared parameters, request
// bodies, problem answers and the schemas of every answer.

// Schema building blocks.
var (
	tString   = obj{"type": "string"}
	tInteger  = obj{"type": "integer"}
	tNumber   = obj{"type": "number"}
	tTime     = obj{"type": "string", "format": "date-time"}
	tLabels   = obj{"type": "object", "additionalProperties": tString}
	tStrings  = obj{"type": "array", "items": tString}
	tValues   = obj{"type": "object", "nullable": true, "additionalProperties": obj{"type": "number", "nullable": true}, "description": "Measured values by field; a value that is not a finite number is null."}
	tVisibles = obj{"type": "string", "enum": []string{"public", "internal"}}
)

// object is a schema of an object with these properties, the required
// ones named.
func object(props obj, required ...string) obj {
	o := obj{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func arrayOf(items obj) obj { return obj{"type": "array", "items": items} }

// listOf is the list answer of the REST API: items, count, total.
func listOf(item string) obj {
	return object(obj{"items": arrayOf(schemaRef(item)), "count": tInteger, "total": tInteger,
		"next_cursor": obj{"type": "string", "description": "Cursor of the next page; absent on the last."},
		"next":        obj{"type": "string", "description": "URL of the next page (as in the Link header); absent on the last."}}, "items", "count", "total")
}

// featureOf is a GeoJSON Feature with this geometry and properties.
func featureOf(geometry, properties obj, required ...string) obj {
	return object(obj{"type": obj{"type": "string", "enum": []string{"Feature"}}, "id": tString, "geometry": geometry,
		"properties": properties}, append([]string{"type", "geometry", "properties"}, required...)...)
}

// featureCollectionOf is a GeoJSON FeatureCollection of these features.
func featureCollectionOf(feature obj) obj {
	return object(obj{"type": obj{"type": "string", "enum": []string{"FeatureCollection"}}, "features": arrayOf(feature),
		"links": obj{"type": "array", "description": "rel=next: the next page, where there is one.",
			"items": object(obj{"href": tString, "rel": tString, "type": tString}, "href", "rel")},
		"next_cursor": obj{"type": "string", "description": "Cursor of the next page; absent on the last."}}, "type", "features")
}

func components(paths obj) obj {
	return obj{
		"securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer", "description": "A department key made with `kessel keys new` (or a device's key, for its pushes)."}},
		"parameters": obj{
			"kind":     param("kind", "query", "Device kind.", "string", false, "air_quality"),
			"district": param("district", "query", "District id, name or slug.", "string", false, "stuttgart-mitte"),
			"bbox":     param("bbox", "query", "minLon,minLat,maxLon,maxLat (WGS84).", "string", false, "9.15,48.76,9.20,48.79"),
			"near":     param("near", "query", "lon,lat; needs radius.", "string", false, "9.18,48.7784"),
			"radius":   param("radius", "query", "Metres around near, up to 50000.", "number", false, 500),
			"within":   param("within", "query", "Only devices inside this district (id, name or slug).", "string", false, nil),
			"format":   enumParam("format", "Output format; the Accept header works too.", "json", "geojson", "csv"),
			"limit":    param("limit", "query", "Page size, 1 to 10000; default 1000.", "integer", false, 100),
			"cursor":   param("cursor", "query", "Opaque cursor from next_cursor or the Link header.", "string", false, nil),
		},
		"requestBodies": obj{
			"Rule": obj{"required": true, "content": obj{"application/json": obj{"schema": schemaRef("RuleInput"),
				"example": obj{"id": "feinstaubalarm", "kind": "air_quality", "field": "pm10", "condition": "mean", "window": "24h", "op": ">", "threshold": 50, "clear": 45, "severity": "warning", "visibility": "public"}}}},
			"Device": obj{"required": true, "content": obj{"application/json": obj{"schema": schemaRef("DeviceInput"),
				"example": obj{"id": "gauge-7", "kind": "water_level", "name": "Pegel Neckar", "location": obj{"lon": 9.21, "lat": 48.80}, "visibility": "public", "labels": obj{"river": "Neckar"}}}}},
		},
		"responses": problemResponses(paths),
		"schemas":   schemas(),
	}
}

func schemas() obj {
	out := obj{
		"Problem": object(obj{"type": obj{"type": "string", "description": "URI naming the kind of problem."}, "title": tString,
			"status": obj{"type": "integer", "minimum": 400, "maximum": 599}, "detail": obj{"type": "string", "description": "What was wrong, specifically."},
			"instance": tString}, "type", "title", "status", "detail"),
		"Health":          object(obj{"status": tString}, "status"),
		"Readiness":       object(obj{"status": obj{"type": "string", "description": "ok, degraded or the failure."}, "checks": obj{"type": "object", "nullable": true, "additionalProperties": tString}}, "status"),
		"OpenAPIDocument": object(obj{"openapi": tString, "info": obj{"type": "object"}, "paths": obj{"type": "object"}}, "openapi", "info", "paths"),
		"PushResult":      object(obj{"status": obj{"type": "string", "enum": []string{"stored"}}}, "status"),
		"GeoJSONObject": object(obj{"type": obj{"type": "string", "enum": []string{"Polygon", "MultiPolygon", "Feature", "FeatureCollection"}},
			"coordinates": obj{"type": "array", "items": obj{}}, "geometry": schemaRef("Geometry"), "features": arrayOf(obj{"type": "object"})}, "type"),
		"LonLat": object(obj{"lon": obj{"type": "number", "minimum": -180, "maximum": 180}, "lat": obj{"type": "number", "minimum": -90, "maximum": 90}}, "lon", "lat"),
		"Reading": object(withProps(obj{"time": tTime, "values": tValues, "location": schemaRef("LonLat"),
			"units": obj{"type": "object", "description": "Units of the values where known: the reading's own (SenML), else the device's, else the kind's default.",
				"additionalProperties": object(obj{"symbol": obj{"type": "string", "example": "µg/m³"}, "ucum": obj{"type": "string", "example": "ug/m3"}}, "symbol")},
			"link": obj{"type": "object", "description": "Radio and transport data (rssi, snr, gateways, f_cnt, f_cnt_gap, signal, …), never among the values.",
				"additionalProperties": tNumber}}, readingQCProps), "time", "values"),
		"ReadingList": object(obj{"device": tString, "kind": tString, "resolution": resolutionField, "items": arrayOf(schemaRef("Reading")), "count": tInteger}, "device", "kind", "items", "count"),
		"ReadingFeatureCollection": featureCollectionOf(featureOf(obj{"type": "object", "allOf": []any{schemaRef("PointGeometry")}, "nullable": true},
			flatValues(object(obj{"device": tString, "time": tTime}, "device", "time")))),
		"PointGeometry": object(obj{"type": obj{"type": "string", "enum": []string{"Point"}}, "coordinates": obj{"type": "array", "items": tNumber, "minItems": 2, "maxItems": 3}}, "type", "coordinates"),
		"Geometry": object(obj{"type": obj{"type": "string", "enum": []string{"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection"}},
			"coordinates": obj{"type": "array", "items": obj{}}, "geometries": arrayOf(obj{"type": "object"})}, "type"),
		"DeviceInput": object(obj{"id": tString, "kind": tString, "name": tString, "location": schemaRef("LonLat"), "department": tString,
			"visibility": tVisibles, "measurement_class": schemaRef("MeasurementClass"), "labels": tLabels, "units": tUnits, "levels": tLevels}, "kind"),
		"DeviceProperties": flatValues(object(flatDeviceProps(deviceSchemaProps()), "id", "kind", "visibility", "created_at", "updated_at")),
		"Device":           object(withLocation(deviceSchemaProps()), "id", "kind", "visibility", "created_at", "updated_at"),
		"DeviceList":       listOf("Device"),
		"DeviceFeatureCollection": featureCollectionOf(featureOf(obj{"type": "object", "allOf": []any{schemaRef("PointGeometry")}, "nullable": true},
			schemaRef("DeviceProperties"), "id")),
		"FieldStats": object(obj{"mean": tNumber, "min": tNumber, "max": tNumber, "count": tInteger,
			"unit": obj{"type": "string", "description": "Unit symbol, when all the devices agree on one."}}, "mean", "min", "max", "count"),
		"DistrictSummary": object(obj{"id": tString, "name": tString, "devices": obj{"type": "object", "description": "Public devices per kind.", "additionalProperties": tInteger},
			"current":    obj{"type": "object", "description": "Per kind, per field: aggregates over the latest readings.", "additionalProperties": obj{"type": "object", "additionalProperties": schemaRef("FieldStats")}},
			"latest_url": tString}, "id", "name", "devices", "latest_url"),
		"DistrictList":              listOf("DistrictSummary"),
		"DistrictFeature":           featureOf(schemaRef("Geometry"), schemaRef("DistrictSummary"), "id"),
		"DistrictFeatureCollection": featureCollectionOf(schemaRef("DistrictFeature")),
		"DistrictSeries": object(obj{"district": tString, "kind": tString, "field": tString, "fn": tString, "every": tString, "resolution": resolutionField,
			"items": arrayOf(object(obj{"time": tTime, "value": tNumber}, "time", "value")), "count": tInteger},
			"district", "kind", "field", "fn", "every", "items", "count"),
		"Usage":          object(obj{"day": obj{"type": "string", "format": "date"}, "endpoint": tString, "dataset": tString, "requests": tInteger}, "day", "endpoint", "requests"),
		"UsageList":      listOf("Usage"),
		"DeadLetter":     object(obj{"time": tTime, "reason": tString, "topic": tString, "device": tString, "detail": tString, "payload": obj{"type": "string", "description": "The first KiB."}}, "time", "reason", "topic", "detail", "payload"),
		"DeadLetterList": listOf("DeadLetter"),
		"Alert":          alertSchema(),
		"AlertWithTransitions": obj{"allOf": []any{schemaRef("Alert"), object(obj{"transitions": arrayOf(object(obj{"seq": tInteger,
			"state": tString, "at": tTime, "value": tNumber}, "seq", "state", "at", "value"))}, "transitions")}},
		"AlertList":  listOf("Alert"),
		"Rule":       ruleSchema(),
		"RuleList":   listOf("Rule"),
		"RuleInput":  ruleInputSchema(),
		"ArchiveDay": object(obj{"day": obj{"type": "string", "format": "date"}, "url": tString}, "day", "url"),
		"Catalog": object(obj{"@context": obj{"type": "object"}, "@id": tString, "@type": tString},
			"@context", "@type"),
		"STAServiceRoot": object(obj{"value": arrayOf(object(obj{"name": tString, "url": tString}, "name", "url")),
			"serverSettings": object(obj{"conformance": tStrings}, "conformance")}, "value", "serverSettings"),
	}
	maps.Copy(out, evidenceSchemas())   // evidence_openapi.go
	maps.Copy(out, airQualitySchemas()) // airquality_openapi.go
	return out
}

func deviceSchemaProps() obj {
	return obj{"id": tString, "kind": tString, "name": tString, "district": tString, "department": tString,
		"visibility": tVisibles, "labels": tLabels, "units": tUnits, "levels": tLevels, "created_at": tTime, "updated_at": tTime, "last_seen": tTime,
		"distance_m": obj{"type": "number", "description": "Great-circle distance in metres, with near or from /nearest."},
		"latest":     schemaRef("Reading"), "measurement_class": schemaRef("MeasurementClass")}
}

// tUnits is a device's own units.
var tLevels = obj{"type": "object", "description": "Warning levels the device declares per field, lowest first (a gauge's flood warning stages): a value at or above a level's value has reached it. At most 8 per field, values increasing.",
	"additionalProperties": obj{"type": "array", "maxItems": 8, "items": object(obj{"name": tString, "value": tNumber}, "name", "value")},
	"example":              obj{"level": []obj{{"name": "Meldestufe 1", "value": 250}, {"name": "Meldestufe 2", "value": 320}}}}

var tUnits = obj{"type": "object", "description": "A field's unit (UCUM code or SenML unit) where it differs from the kind's default.",
	"additionalProperties": tString, "example": obj{"no2": "ug/m3"}}

// flatDeviceProps are a device feature's properties: the device's, with
// its latest reading's time as observed_at and its values flat (flatValues)
// instead of latest.
func flatDeviceProps(props obj) obj {
	delete(props, "latest")
	props["observed_at"] = obj{"type": "string", "format": "date-time", "description": "Time of the latest reading."}
	return props
}

// flatValues lets a GeoJSON feature's properties carry values flat, for
// GIS tools: a number per field ("pm10") and its unit's symbol beside it
// ("pm10_unit"); a field named like a fixed property is "value_<field>".
func flatValues(o obj) obj {
	o["additionalProperties"] = obj{"oneOf": []any{obj{"type": "number", "nullable": true}, tString}}
	o["description"] = "Fixed properties, then the values flat: pm10: 23.1, pm10_unit: \"µg/m³\"."
	return o
}

func withLocation(props obj) obj {
	props["location"] = schemaRef("LonLat")
	return props
}

func alertSchema() obj {
	return object(obj{"id": tString, "rule_id": tString, "subject": obj{"type": "string", "description": "The device, or the district of an area rule."},
		"kind": tString, "district": tString, "department": tString, "value": tNumber, "severity": tString, "visibility": tVisibles,
		"state": obj{"type": "string", "enum": []string{"pending", "firing", "resolved", "inactive"}}, "summary": tString, "labels": tLabels,
		"active_at": tTime, "fired_at": tTime, "resolved_at": tTime, "last_true": tTime, "keep_firing_since": tTime,
		"acked_by": obj{"type": "string", "description": "Who acknowledged it; only with the alerts:manage scope."}, "acked_at": tTime,
		"ack_note": obj{"type": "string", "description": "The acknowledger's note; only with the alerts:manage scope."}}, "id", "rule_id", "subject", "value", "severity", "visibility", "state")
}

// ruleInputSchema is a rule as sent: PUT takes the id from the path.
func ruleInputSchema() obj {
	r := ruleSchema()
	r["required"] = []string{"kind", "condition"}
	return r
}

func ruleSchema() obj {
	return object(obj{
		"id": tString, "name": tString, "kind": tString, "devices": tStrings,
		"district": tString, "area": obj{"type": "boolean", "description": "One alert for the district, on the mean of its public devices."}, "field": tString,
		"condition": obj{"type": "string", "enum": []string{"threshold", "mean", "max", "min", "rate", "silence", "exceedance_days", "quality"}, "description": "quality: a maintenance alert while a device's value fails quality control or is stuck (kind may be empty: every kind)."},
		"count":     obj{"type": "integer", "description": "exceedance_days: fires when this many days of the calendar year (CET) have a daily mean above threshold."},
		"op":        obj{"type": "string", "enum": []string{">", ">=", "<", "<="}}, "threshold": tNumber, "clear": tNumber,
		"window": obj{"type": "string", "example": "24h"}, "silence": tString, "for": tString, "keep_firing_for": tString,
		"severity": obj{"type": "string", "enum": []string{"info", "warning", "critical"}}, "visibility": tVisibles,
		"labels": tLabels, "summary": tString,
		"include_suspect": obj{"type": "boolean", "description": "Evaluate values flagged suspect (3) too; by default a rule sees passing values only (1, 2)."}}, "id", "kind", "condition")
}
