package api

import "net/http"

// airQualityPaths describes the EU air-quality statistics (airquality.go).
func airQualityPaths() []*op {
	const get = http.MethodGet
	const rules = " PM10, PM2.5 and NO2 per calendar year after Directive 2008/50/EC: daily means only from at least 18 of 24 hourly values; annual means of the hourly values, assessed only with 90 % of the year's hours; " +
		"hours and days above each limit value counted (a count above what is allowed is exceeded at any coverage, one within it is met only with 90 % coverage). " +
		"Each figure is compared with the limits in force (2008/50/EC) and those of (EU) 2024/2881 for 2030, with its coverage. Days run from 00:00 CET (UTC+1, no summer time). " +
		"Figures of indicative measurements (low-cost sensors, the default class) are labelled indicative. Computed from the hourly means of the stored readings, of the values quality control passed (flag 1, 2 or none). " +
		"CSV: one row per assessment (year, subject, id, measurement_class, indicative, pollutant, standard, period, limit_ugm3, allowed, value, coverage, status, hours, hours_in_year, days, days_in_year, incomplete_days, annual_mean_ugm3)."
	params := func(id obj) []any {
		return []any{id, param("year", "path", "Calendar year (days and years in CET, UTC+1).", "integer", true, 2025),
			enumParam("daily", "true: include every day's hourly count and daily mean.", "true", "false"), enumParam("format", "Output format; the Accept header works too.", "json", "csv")}
	}
	return []*op{
		newOp(get, "/api/v1/airquality/devices/{id}/{year}", "getAirQualityDevice", tagReadings, "EU air-quality statistics of a device").
			describe("One device's statistics:"+rules+" Public devices only without a key with scope data:internal.").
			with(params(deviceIDParam())...).
			reply(200, "statistics", asJSON("AirQualityReport"), asCSV()).fails(400, 404, 503),
		newOp(get, "/api/v1/airquality/districts/{id}/{year}", "getAirQualityDistrict", tagDistricts, "EU air-quality statistics of a district").
			describe("A district's statistics:"+rules+" The district's figures come from one series: per hour, the mean of its devices' hourly values; "+
				"each device's own figures are listed under devices. The district's figures are indicative unless every device is a reference station. "+
				"Public devices only without a key with scope data:internal.").
			with(params(param("id", "path", "District id, name or slug.", "string", true, "stuttgart-mitte"))...).
			reply(200, "statistics", asJSON("AirQualityReport"), asCSV()).fails(400, 404, 503),
	}
}

// airQualitySchemas are the schemas of the air-quality answers.
func airQualitySchemas() obj {
	class := schemaRef("MeasurementClass")
	assessment := object(obj{
		"standard": obj{"type": "string", "enum": []string{"2008/50/EC", "(EU) 2024/2881"}}, "pollutant": tString,
		"period": obj{"type": "string", "enum": []string{"1h", "1d", "1y"}}, "limit": obj{"type": "number", "description": "Limit value, µg/m³."},
		"allowed":  obj{"type": "integer", "description": "Hours or days above the limit a calendar year may have (0 for annual limits)."},
		"value":    obj{"type": "number", "description": "The annual mean (µg/m³) for 1y, else the number of hours (1h) or days (1d) above the limit."},
		"coverage": obj{"type": "number", "description": "Share of the year's hours (1h, 1y) or days (1d) with a value, 0 to 1."},
		"status":   obj{"type": "string", "enum": []string{"exceeded", "met", "insufficient_coverage"}}},
		"standard", "pollutant", "period", "limit", "allowed", "value", "coverage", "status")
	day := object(obj{"date": obj{"type": "string", "format": "date"}, "hours": tInteger, "mean": obj{"type": "number", "nullable": true}}, "date", "hours", "mean")
	stats := object(obj{
		"pollutant": obj{"type": "string", "enum": []string{"pm10", "pm25", "no2"}}, "measurement_class": class, "indicative": obj{"type": "boolean"},
		"hours": tInteger, "hours_in_year": tInteger, "days": obj{"type": "integer", "description": "Days with a daily mean (at least 18 hourly values)."}, "days_in_year": tInteger,
		"incomplete_days": obj{"type": "integer", "description": "Days with hourly values but fewer than 18."},
		"annual_mean":     obj{"type": "number", "nullable": true, "description": "Mean of the year's hourly values, µg/m³."}, "hour_coverage": tNumber, "day_coverage": tNumber,
		"assessments": arrayOf(assessment), "daily": obj{"type": "array", "items": day, "description": "With daily=true: every day with hourly values."}},
		"pollutant", "measurement_class", "indicative", "hours", "hours_in_year", "days", "days_in_year", "incomplete_days", "annual_mean", "hour_coverage", "day_coverage", "assessments")
	subject := func() obj {
		return obj{"device": tString, "name": tString, "district": tString, "measurement_class": class, "indicative": obj{"type": "boolean"},
			"note": obj{"type": "string", "description": "Set on indicative figures."}, "pollutants": arrayOf(schemaRef("AirQualityStats")),
			"excluded": obj{"type": "array", "items": tString, "description": "Pollutants left out because the device reports them in a unit other than µg/m³ (no unit is converted)."}}
	}
	report := subject()
	for k, v := range (obj{"year": tInteger, "from": tTime, "to": tTime, "day_boundary": tString, "aggregation": tString,
		"devices": arrayOf(object(subject(), "measurement_class", "indicative", "pollutants"))}) {
		report[k] = v
	}
	return obj{
		"MeasurementClass": obj{"type": "string", "enum": []string{"reference", "indicative"}, "description": "Reference station, or indicative measurement (low-cost sensor; the default)."},
		"AirQualityStats":  stats,
		"AirQualityReport": object(report, "year", "from", "to", "day_boundary", "measurement_class", "indicative", "pollutants"),
	}
}
