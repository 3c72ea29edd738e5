package api

import "net/http"

// The district, usage, alert and rule operations of the OpenAPI document.

func districtIDParam() obj {
	return param("id", "path", "District id, name or slug.", "string", true, "stuttgart-mitte")
}

// districtPaths describes districts and the usage statistics.
func districtPaths() []*op {
	const get = http.MethodGet
	return []*op{
		newOp(get, "/api/v1/districts", "listDistricts", tagDistricts, "Districts").
			describe("GeoJSON polygons with device counts per kind (the default); format=json a list without geometry, format=csv a table.").
			with(paramRef("format")).
			reply(200, "districts", asGeoJSON("DistrictFeatureCollection"), asJSON("DistrictList"), asCSV()).fails(400, 503),
		newOp(get, "/api/v1/districts/{id}", "getDistrict", tagDistricts, "One district").
			describe("Polygon plus the current mean, min and max per field per kind over its public devices' latest readings.").
			with(districtIDParam()).reply(200, "district", asGeoJSON("DistrictFeature")).fails(404, 503),
		newOp(get, "/api/v1/districts/{id}/readings", "listDistrictReadings", tagDistricts, "A district-wide series").
			describe("One field of one kind aggregated over all devices in the district per window (default every=1h, fn=mean). "+historyResolution).
			with(districtIDParam(),
				param("kind", "query", "Device kind.", "string", true, "air_quality"), param("field", "query", "Field.", "string", true, "pm10"),
				param("from", "query", "Start; default -24h.", "string", false, "-7d"), param("to", "query", "End; default now.", "string", false, nil),
				param("every", "query", "Window, 1m to 31d; default 1h. Each row is labelled with the start of its window.", "string", false, "1h"),
				enumParam("fn", "Aggregate; default mean.", "mean", "min", "max", "sum", "count", "last"),
				resolutionParam(),
				paramRef("format")).
			reply(200, "series", asJSON("DistrictSeries"), asCSV()).header(200, ResolutionHeader, resolutionHeaderDesc).fails(400, 404, 410, 503),
		newOp(get, "/api/v1/usage", "getUsage", tagOpenData, "Usage of this service").
			describe("Requests per day, endpoint and dataset (kind), aggregated, with no personal data; summed over every instance and kept in InfluxDB (saved every minute and on shutdown), for the last 400 days.").
			with(paramRef("format")).reply(200, "usage", asJSON("UsageList"), asCSV()).fails(400, 503),
	}
}

func alertIDParam() obj { return param("id", "path", "Alert id (fingerprint).", "string", true, nil) }

// alertPaths describes alerts.
func alertPaths() []*op {
	const get, post = http.MethodGet, http.MethodPost
	return []*op{
		newOp(get, "/api/v1/alerts", "listAlerts", tagAlerts, "Alerts").
			describe("Firing, pending and recently resolved alerts. Public alerts for everyone, internal ones with scope alerts:manage.").
			with(enumParam("state", "Only this state.", "firing", "pending", "resolved"), paramRef("kind"), paramRef("district"),
				enumParam("severity", "Only this severity.", "info", "warning", "critical"),
				param("since", "query", "Changed since: RFC 3339 or relative.", "string", false, "-24h")).
			reply(200, "alerts", asJSON("AlertList")).fails(400, 503),
		newOp(get, "/api/v1/alerts/stream", "streamAlerts", tagAlerts, "Alert transitions as Server-Sent Events").stream().
			describe("Each event has an id; reconnect with Last-Event-ID to resume. A heartbeat comment every 15 s. Each event's data is an alert (the Alert schema).").
			with(param("Last-Event-ID", "header", "Resume after this event id.", "string", false, nil),
				param("last_event_id", "query", "The same, for clients that cannot set headers.", "string", false, nil)).
			reply(200, "event stream", asText("text/event-stream")).fails(400, 503),
		newOp(get, "/api/v1/alerts/{id}", "getAlert", tagAlerts, "One alert").
			describe("Its state and times, and its recent transitions.").
			with(alertIDParam()).reply(200, "alert", asJSON("AlertWithTransitions")).fails(404, 503),
		newOp(post, "/api/v1/alerts/{id}/ack", "acknowledgeAlert", tagAlerts, "Acknowledge an alert").scope(ScopeAlertsManage).
			describe("Records who and when, and the note in the optional body, which the winter service's evidence records keep.").
			with(alertIDParam()).body(ackBody).reply(200, "acknowledged", asJSON("Alert")).fails(400, 404, 413, 415, 503),
	}
}

func ruleIDParam() obj { return param("id", "path", "Rule id.", "string", true, "feinstaubalarm") }

// rulePaths describes alert rules.
func rulePaths() []*op {
	const get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	ruleBody := obj{"$ref": "#/components/requestBodies/Rule"}
	return []*op{
		newOp(get, "/api/v1/rules", "listRules", tagAlerts, "Alert rules").scope(ScopeRulesRead).
			describe("Every rule, configured and added.").
			reply(200, "rules", asJSON("RuleList")).fails(503),
		newOp(post, "/api/v1/rules", "createRule", tagAlerts, "Add a rule").scope(ScopeRulesWrite).
			describe("A bad rule is a 400 naming the rule and the field.").
			body(ruleBody).reply(201, "created", asJSON("Rule")).header(201, "Location", "URL of the new rule.").fails(400, 409, 413, 415, 503),
		newOp(get, "/api/v1/rules/{id}", "getRule", tagAlerts, "One rule").scope(ScopeRulesRead).
			describe("The rule as stored, durations as Go duration strings.").
			with(ruleIDParam()).reply(200, "rule", asJSON("Rule")).fails(404, 503),
		newOp(put, "/api/v1/rules/{id}", "replaceRule", tagAlerts, "Replace a rule").scope(ScopeRulesWrite).
			describe("Its alerts start over.").
			with(ruleIDParam()).body(ruleBody).reply(200, "replaced", asJSON("Rule")).fails(400, 404, 413, 415, 503),
		newOp(del, "/api/v1/rules/{id}", "deleteRule", tagAlerts, "Remove a rule").scope(ScopeRulesWrite).
			describe("The rule raises no more alerts.").
			with(ruleIDParam()).reply(204, "removed").fails(404, 503),
	}
}
