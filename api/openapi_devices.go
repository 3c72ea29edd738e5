package api

import "net/http"

// The device, reading and push operations of the OpenAPI document.

// deviceFilters are the list filters of /devices, /latest and /devices/search.
var deviceFilters = []any{
	paramRef("kind"), paramRef("district"), paramRef("bbox"), paramRef("near"), paramRef("radius"),
	paramRef("within"), paramRef("format"), paramRef("limit"), paramRef("cursor"),
}

func deviceIDParam() obj { return param("id", "path", "Device id.", "string", true, "air-0001") }

func ifMatch(required bool) obj {
	return param("If-Match", "header", "ETag of the device as last read.", "string", required, nil)
}

// devicePaths describes the devices and their changes.
func devicePaths() []*op {
	const get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	deviceList := []obj{asJSON("DeviceList"), asGeoJSON("DeviceFeatureCollection"), asCSV()}
	return []*op{
		newOp(get, "/api/v1/devices", "listDevices", tagDevices, "List devices").
			describe("Public devices (internal ones too with scope data:internal), filtered by kind, district and place. Sorted by id, or by distance with near.").
			with(deviceFilters...).reply(200, "devices", deviceList...).fails(400),
		newOp(post, "/api/v1/devices", "createDevice", tagDevices, "Register a device").scope(ScopeDevicesWrite).
			describe("The key's department owns the device unless the body names another (admin only).").
			body(obj{"$ref": "#/components/requestBodies/Device"}).
			reply(201, "created", asJSON("Device")).header(201, "Location", "URL of the new device.").header(201, "ETag", "For If-Match.").
			fails(400, 409, 413, 415, 503),
		newOp(post, "/api/v1/devices/search", "searchDevices", tagDevices, "Devices inside a polygon").
			describe("Body: a GeoJSON Polygon or MultiPolygon (geometry, Feature, or a FeatureCollection of one). The list filters apply too.").
			with(deviceFilters...).
			body(obj{"required": true, "content": obj{"application/geo+json": obj{"schema": schemaRef("GeoJSONObject"),
				"example": obj{"type": "Polygon", "coordinates": [][][]float64{{{9.17, 48.77}, {9.19, 48.77}, {9.19, 48.79}, {9.17, 48.77}}}}}}}).
			reply(200, "devices", deviceList...).fails(400, 413, 415),
		newOp(get, "/api/v1/devices/{id}", "getDevice", tagDevices, "One device with its latest reading").
			describe("Served from memory. The ETag's first part is the device's version, which PUT's If-Match checks.").
			with(deviceIDParam()).reply(200, "device", asJSON("Device")).fails(400, 404),
		newOp(put, "/api/v1/devices/{id}", "replaceDevice", tagDevices, "Change a device").scope(ScopeDevicesWrite).
			describe("Own department. Needs If-Match with the ETag last read: 412 if the device changed since, 428 without.").
			with(deviceIDParam(), ifMatch(true)).body(obj{"$ref": "#/components/requestBodies/Device"}).
			reply(200, "changed", asJSON("Device")).fails(400, 404, 412, 413, 415, 428, 503),
		newOp(del, "/api/v1/devices/{id}", "deleteDevice", tagDevices, "Remove a device").scope(ScopeDevicesWrite).
			describe("Own department. If-Match optional.").
			with(deviceIDParam(), ifMatch(false)).reply(204, "removed").fails(400, 404, 412, 503),
		newOp(get, "/api/v1/nearest", "listNearestDevices", tagDevices, "The k nearest devices").
			describe("With great-circle distance in metres (distance_m).").
			with(param("lon", "query", "Longitude (WGS84).", "number", true, 9.18), param("lat", "query", "Latitude (WGS84).", "number", true, 48.7784),
				param("k", "query", "How many, 1 to 1000; default 10.", "integer", false, 5), param("kind", "query", "Device kind.", "string", false, "air_quality"),
				param("max_distance", "query", "Leave out devices farther than this (metres).", "number", false, 2000), paramRef("format")).
			reply(200, "devices", deviceList...).fails(400),
	}
}

// readingPaths describes latest values, history and pushes.
func readingPaths() []*op {
	const get, post = http.MethodGet, http.MethodPost
	return []*op{
		newOp(get, "/api/v1/latest", "listLatestReadings", tagReadings, "Latest reading of every matching device").
			describe("Served from the live state in memory, never a database query.").
			with(deviceFilters...).with(qcParam).
			reply(200, "devices with latest readings", asJSON("DeviceList"), asGeoJSON("DeviceFeatureCollection"), asCSV()).fails(400),
		newOp(get, "/api/v1/devices/{id}/readings", "listDeviceReadings", tagReadings, "A device's history").
			describe("From InfluxDB. Without every, raw readings (at most 10,000 in JSON and GeoJSON: a larger range answers 400 naming an every that fits). CSV is streamed without that limit, so a year of data exports in one request. "+historyResolution).
			with(deviceIDParam(),
				param("from", "query", "Start: RFC 3339 (after 1970-01-01T00:00:00Z) or relative (-24h, -7d). Default -24h.", "string", false, "-24h"),
				param("to", "query", "End: RFC 3339, relative or now. Default now.", "string", false, "now"),
				param("fields", "query", "Comma-separated field names.", "string", false, "pm10,pm25"),
				param("every", "query", "Aggregation window, 1m to 31d. Each aggregated row is labelled with the START of its window (a daily row dated 26 Nov holds 26 Nov's values); windows are aligned to multiples of every since 1970 UTC, the first one begins at from. Aggregates are of measured values only, never of link data.", "string", false, "1h"),
				enumParam("fn", "Aggregate per window (needs every).", "mean", "min", "max", "sum", "count", "last"),
				resolutionParam(),
				qcParam, paramRef("format")).
			reply(200, "readings", asJSON("ReadingList"), asGeoJSON("ReadingFeatureCollection"), asCSV()).
			header(200, ResolutionHeader, resolutionHeaderDesc).fails(400, 404, 410, 503),
		newOp(post, "/api/v1/devices/{id}/readings", "pushDeviceReading", tagPush, "Push a reading over HTTP").scope(ScopeAdmin).
			describe("For a device that cannot speak MQTT: the body is what it would publish on kessel/devices/{id}/readings, native JSON or SenML. Needs the device's own key (an api_keys entry with device: {id}, made with kessel keys new --device) or an admin key. Stored before the answer; a bad reading is kept as a dead letter and answered 400 with the reason.").
			with(deviceIDParam()).
			body(obj{"required": true, "content": obj{"application/json": obj{
				"schema":  obj{"oneOf": []any{obj{"type": "object"}, obj{"type": "array", "items": obj{"type": "object"}}}},
				"example": obj{"ts": "2026-11-23T08:00:00Z", "values": obj{"pm10": 23.1, "pm25": 11.0}}}}}).
			reply(200, "stored", asJSON("PushResult")).fails(400, 413, 503),
		newOp(post, "/api/v1/push/airrohr", "pushAirrohr", tagPush, "Sensor.Community / airrohr push").
			describe("The firmware's custom-API JSON; the device from X-Sensor (esp8266-<chipid>) or esp8266id. Stored before the answer.").
			with(param("X-Sensor", "header", "esp8266-<chipid> or esp32-<chipid>.", "string", false, "esp8266-3394227")).
			body(obj{"required": true, "content": obj{"application/json": obj{"schema": obj{"type": "object"}, "example": obj{"esp8266id": "3394227", "software_version": "NRZ-2020-133",
				"sensordatavalues": []any{obj{"value_type": "SDS_P1", "value": "4.30"}, obj{"value_type": "SDS_P2", "value": "3.53"}}}}}}).
			reply(200, "stored", asJSON("PushResult")).fails(400, 413, 503),
	}
}
