package api

import "net/http"

// The OpenAPI description of the evidence routes (evidence.go).

// ackBody is the optional body of POST /alerts/{id}/ack.
var ackBody = obj{"required": false, "content": obj{"application/json": obj{
	"schema": object(obj{"note": obj{"type": "string", "maxLength": 500,
		"description": "What was done, kept with the acknowledgement and in the winter service's evidence record."}}),
	"example": obj{"note": "Streufahrzeug 3 ausgerückt 05:40"}}}}

// evidencePaths describes the winter service's evidence.
func evidencePaths() []*op {
	const get, post = http.MethodGet, http.MethodPost
	subject := []any{
		obj{"name": "type", "in": "path", "required": true, "description": "sensors (a road-surface sensor) or routes (a route from the config).",
			"schema": obj{"type": "string", "enum": []string{"sensors", "routes"}}},
		param("id", "path", "Sensor id or route id.", "string", true, "road-0001"),
	}
	days := append(subject[:2:2],
		param("from", "query", "First day, YYYY-MM-DD (a calendar day in Europe/Berlin); default yesterday.", "string", false, "2026-11-29"),
		param("to", "query", "Last day, included; default yesterday.", "string", false, "2026-11-30"))
	return []*op{
		newOp(get, "/api/v1/evidence", "listEvidenceSubjects", tagAlerts, "Winter-service evidence: subjects").scope(ScopeAlertsManage).
			describe("Every road-surface sensor and every configured route has its own chain of daily records. Subjects with an internal sensor are listed only for keys that also hold data:internal.").
			reply(200, "subjects", asJSON("EvidenceSubjectList")).fails(503),
		newOp(get, "/api/v1/evidence/{type}/{id}", "getEvidenceRecords", tagAlerts, "Winter-service evidence: daily records").scope(ScopeAlertsManage).
			describe("Needs data:internal as well for a subject with an internal sensor. The subject's daily records (surface and air temperature, humidity, dew point, precipitation as measured; frost alerts with firing and resolving times; acknowledgements with who, when and note; data gaps), each with its SHA-256 hash and the previous day's, and the chain's verification. As JSON, a printable German HTML report, or CSV.").
			with(append(days[:4:4],
				enumParam("format", "json (the default), html (a printable German report) or csv.", "json", "html", "csv"),
				enumParam("download", "1: as an attachment (Content-Disposition), to hand to an insurer or a court.", "1"))...).
			reply(200, "records", asJSON("EvidenceRecords"), asText("text/html"), asCSV()).
			header(200, "Content-Disposition", "With download=1: attachment, with a file name naming the subject and the days.").
			fails(400, 404, 503),
		newOp(get, "/api/v1/evidence/{type}/{id}/verify", "verifyEvidence", tagAlerts, "Winter-service evidence: verify the chain").scope(ScopeAlertsManage).
			describe("Recomputes every record's hash and link; names the first day where the chain breaks. from defaults to four years before to.").
			with(days...).reply(200, "verification", asJSON("EvidenceVerification")).fails(400, 404, 503),
		newOp(post, "/api/v1/evidence/{type}/{id}/build", "buildEvidence", tagAlerts, "Winter-service evidence: build now").scope(ScopeAlertsManage).
			describe("Builds the records up to day (default yesterday), which must be over; records are otherwise built every night. Chains are append-only: days already built are not rebuilt, and a new chain starts at most 400 days back (an older day answers 400).").
			with(append(subject[:2:2], param("day", "query", "Last day to build, YYYY-MM-DD.", "string", false, "2026-11-30"))...).
			reply(200, "the records built", asJSON("EvidenceRecordList")).fails(400, 404, 503),
	}
}

// evidenceSchemas are the schemas of the evidence answers.
func evidenceSchemas() obj {
	subject := object(obj{"type": obj{"type": "string", "enum": []string{"sensor", "route"}}, "id": tString, "name": tString, "devices": tStrings},
		"type", "id", "devices")
	stats := object(obj{"unit": tString, "n": tInteger, "min": tNumber, "max": tNumber, "mean": tNumber, "below_zero_h": tNumber, "sum": tNumber},
		"unit", "n", "min", "max", "mean")
	sensor := object(obj{"device": tString, "kind": tString, "name": tString, "district": tString, "readings": tInteger, "interval_s": tNumber, "coverage": tNumber,
		"stats":  obj{"type": "object", "additionalProperties": stats},
		"gaps":   arrayOf(object(obj{"from": tTime, "to": tTime, "minutes": tNumber}, "from", "to", "minutes")),
		"alerts": arrayOf(object(obj{"alert_id": tString, "rule_id": tString, "severity": tString, "summary": tString, "fired_at": tTime, "resolved_at": tTime, "value": tNumber}, "alert_id", "rule_id", "fired_at", "value")),
		"acks":   arrayOf(object(obj{"alert_id": tString, "rule_id": tString, "fired_at": tTime, "by": tString, "at": tTime, "note": tString}, "alert_id", "rule_id", "by", "at"))},
		"device", "readings", "interval_s", "coverage", "stats", "gaps", "alerts", "acks")
	return obj{
		"EvidenceSubject":     subject,
		"EvidenceSubjectList": listOf("EvidenceSubject"),
		"EvidenceVerification": object(obj{"ok": obj{"type": "boolean"}, "subject": tString, "days": tInteger, "first": tString, "last": tString,
			"broken_at": obj{"type": "string", "description": "The first day whose record does not verify."}, "reason": tString,
			"head": obj{"type": "string", "description": "The hash of the last record."}}, "ok", "subject", "days"),
		"EvidenceRecord": object(obj{"version": tInteger, "subject": schemaRef("EvidenceSubject"), "day": obj{"type": "string", "format": "date"}, "zone": tString,
			"from": tTime, "to": tTime, "gap_factor": tInteger, "sensors": arrayOf(sensor), "built_at": tTime,
			"prev": obj{"type": "string", "description": "The previous day's hash; empty where the chain starts."}, "hash": tString},
			"version", "subject", "day", "zone", "from", "to", "sensors", "built_at", "prev"),
		"EvidenceRecordList": object(obj{"items": arrayOf(schemaRef("EvidenceRecord")), "count": tInteger}, "items", "count"),
		"EvidenceRecords": object(obj{"subject": schemaRef("EvidenceSubject"), "from": obj{"type": "string", "format": "date"}, "to": obj{"type": "string", "format": "date"},
			"verification": schemaRef("EvidenceVerification"), "items": arrayOf(schemaRef("EvidenceRecord")), "count": tInteger},
			"subject", "from", "to", "verification", "items", "count"),
	}
}
