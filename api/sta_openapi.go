package api

import "net/http"

// staPaths describes the SensorThings service root. The whole resource
// tree under it (OGC 18-088) is served by one route and described here in
// words: its paths follow the standard, not this document.
func staPaths() []*op {
	desc := "OGC SensorThings API 1.1, read (conformance classes Sensing Core and Filtering Extension). " +
		"The service root lists the entity sets Things, Locations, HistoricalLocations, Datastreams, Sensors, ObservedProperties, Observations and FeaturesOfInterest " +
		"under /sta/v1.1/, with serverSettings.conformance. Entities are addressed as /sta/v1.1/Things('air-1'), navigation as /Things('air-1')/Datastreams, " +
		"properties as /Things('air-1')/name and /name/$value, links as /Things('air-1')/Datastreams/$ref. " +
		"Ids are text: a Thing, Location, HistoricalLocation and FeatureOfInterest is a device ('air-1'); a Datastream is a device's field ('air-1:pm10'); " +
		"a Sensor is a device kind; an ObservedProperty a field name; an Observation 'device:field:unix-nanoseconds'. " +
		"Query options: $top (default 100, at most 1000 per response; @iot.nextLink continues), $skip, $count, $orderby, $select, $expand (nested with ;), " +
		"$filter with eq ne gt ge lt le, and or not, add sub mul div mod, string (substringof startswith endswith length indexof substring tolower toupper trim concat), time (year month day hour minute second fractionalseconds date time totaloffsetminutes now mindatetime maxdatetime) and math (round floor ceiling) functions; st_touches, st_overlaps, st_crosses and st_relate answer 400, " +
		"geo.distance (metres, great circle, between points), geo.length (metres), geo.intersects, st_within, st_intersects, st_contains, st_equals, st_disjoint (a point against a point or a polygon; WKT geography'POINT(9.18 48.78)'). " +
		"Observations come from the store, in the window that phenomenonTime comparisons (and year() or date() of it) joined by and at the top of $filter give " +
		"(default the last 24 hours under a Datastream, the last hour for the top-level /Observations of every device). With no other $filter and $orderby phenomenonTime or none, " +
		"$top, $skip and $count run in the store and @iot.nextLink pages through any length of history; otherwise more than the history limit in the window answers 400. " +
		"MQTT receive: v1.1/Datastreams('air-1:pm10')/Observations on Kessel's broker carries each new Observation (public Datastreams; internal ones to service logins, see docs/standards.md). " +
		"A mobile device's HistoricalLocations are its stored places (@iot.id 'device:unix-nanoseconds', each with a Location), in the window time comparisons in $filter give (default 24 hours). " +
		"Public devices only without a key; internal ones with scope data:internal. Errors are problem documents."
	return []*op{
		newOp(http.MethodGet, staRoot, "getSensorThingsRoot", tagSTA, "SensorThings API service root").describe(desc).
			reply(200, "the service root; the same route answers every SensorThings resource path below it", asJSON("STAServiceRoot")).
			fails(400, 404, 503),
	}
}
