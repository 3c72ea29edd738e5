package api

import "net/http"

// qcParam is the qc query parameter of history answers.
var qcParam = obj{"name": "qc", "in": "query", "description": "Leave out values quality control flagged: exclude-suspect drops suspect (3) and failed (4) values, exclude-failed failed ones; their flags stay in qc. Default all.",
	"schema": obj{"type": "string", "enum": []string{"all", "exclude-suspect", "exclude-failed"}}}

// qualityPaths describes the per-device quality endpoint.
func qualityPaths() []*op {
	share := object(obj{
		"from": tTime, "to": tTime,
		"values":  obj{"type": "integer", "description": "Values with a quality flag in the period (missing ones not counted)."},
		"passing": obj{"type": "number", "nullable": true, "description": "Share of them flagged 1 (pass) or 2 (not evaluated); null without values."},
		"flags":   obj{"type": "object", "additionalProperties": tInteger, "description": "Count per flag: 1 pass, 2 not evaluated, 3 suspect, 4 fail, 9 missing."},
		"fields":  obj{"type": "object", "additionalProperties": object(obj{"values": tInteger, "passing": obj{"type": "number", "nullable": true}})},
	}, "from", "to", "values", "passing", "flags")
	return []*op{
		newOp(http.MethodGet, "/api/v1/devices/{id}/quality", "getDeviceQuality", tagReadings, "A device's data quality").
			describe("From the quality flags stored with its readings: the share of values passing quality control over the last day, week and month (30 days), overall and per field.").
			with(deviceIDParam()).
			reply(200, "quality per period", obj{"application/json": obj{"schema": object(obj{"device": tString,
				"periods": object(obj{"day": share, "week": share, "month": share}, "day", "week", "month")}, "device", "periods")}}).
			fails(400, 404, 503),
	}
}

// readingQCProps are the quality properties of the Reading schema.
var readingQCProps = obj{
	"qc":         obj{"type": "object", "additionalProperties": obj{"type": "integer", "enum": []int{1, 2, 3, 4, 9}}, "description": "Quality flag per field (QARTOD): 1 pass, 2 not evaluated, 3 suspect, 4 fail, 9 missing."},
	"qc_tests":   obj{"type": "object", "additionalProperties": obj{"type": "array", "items": obj{"type": "string"}}, "description": "The tests that flagged a suspect or failed value."},
	"corrected":  obj{"type": "object", "additionalProperties": obj{"type": "number"}, "description": "Corrected values (the raw ones stay in values)."},
	"correction": obj{"type": "string", "description": "Name and version of the correction, such as sds011_rh/v1."},
}

// withProps returns a with b's entries added.
func withProps(a, b obj) obj {
	for k, v := range b {
		a[k] = v
	}
	return a
}
