package api

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

// getOrHead serves HEAD wherever GET is served: the same status and
// headers, no body (ServeHTTP drops it).
var getOrHead = []string{http.MethodGet, http.MethodHead}

// routes is the map of the API: every route Kessel serves, on one page.
func (s *server) routes() {
	r := s.router
	noRoute := s.handleNoRoute() // 404, or 405 with Allow for a known path
	r.NotFoundHandler, r.MethodNotAllowedHandler = noRoute, noRoute

	metrics := s.needs(s.opts.Gatherer != nil, "no metrics are gathered on this instance")
	r.Handle("/healthz", s.instrument("healthz", s.limit(ClassRead, s.handleHealth()))).Methods(getOrHead...)
	r.Handle("/readyz", s.instrument("readyz", s.limit(ClassRead, s.handleReady()))).Methods(getOrHead...)
	r.Handle("/metrics", s.authenticate(s.limit(ClassRead, metrics(s.handleMetrics())))).Methods(getOrHead...)
	r.Handle("/docs", s.instrument("docs", s.handleDocs())).Methods(getOrHead...)
	if s.opts.Page != nil { // the citizens' page: HTML, not part of the API document
		r.Handle("/", s.instrument("page", s.opts.Page)).Methods(getOrHead...)
		r.PathPrefix("/static/").Handler(s.instrument("static", s.opts.Page)).Methods(getOrHead...)
	}

	if s.opts.Archive != nil { // the bulk archive: files, not part of the API document
		arch := s.instrument("archive", s.limit(ClassRead, s.cors(s.handleArchive())))
		r.Handle(strings.TrimSuffix(archivePrefix, "/"), http.RedirectHandler(archivePrefix, http.StatusMovedPermanently)).Methods(getOrHead...)
		r.PathPrefix(archivePrefix).Handler(arch).Methods(getOrHead...)
	}

	// OGC API – Features for GIS tools: its routes are listed in ogc.go.
	s.ogcRoutes(r)

	// OGC SensorThings API 1.1, read (sta*.go): one route, the handler follows the resource path.
	sta := s.instrument("sta", s.limit(ClassRead, s.cors(s.authenticate(s.queryLimit(s.handleSTA())))))
	r.PathPrefix(staRoot).Handler(sta).Methods(getOrHead...)

	s.v1Routes(r.PathPrefix("/api/v1").Subrouter(), noRoute)
}

// v1Routes are the REST API under /api/v1.
func (s *server) v1Routes(v1 *mux.Router, noRoute http.Handler) {
	// What this instance lacks is decided here, once: every route that
	// needs it answers 503 naming what is missing.
	districts := s.needs(s.districts != nil, "no districts are configured on this instance (--districts)")
	history := s.needs(s.readings != nil, "stored readings are not available on this instance")
	alerts := s.needs(s.opts.Alerts != nil, "this instance does not run the alerts role")
	rules := s.needs(s.opts.Rules != nil, "this instance does not run the alerts role")
	changes := s.needs(s.writer != nil, "device changes are not available on this instance")
	deadLetters := s.needs(s.opts.DeadLetters != nil, "dead letters are not available on this instance")
	ingest := s.needs(s.pusher != nil, "this instance does not run the ingest role")
	archive := s.needs(s.opts.Archive != nil, "no archive is configured on this instance (--archive)")
	airQuality := s.needs(s.opts.AirQuality != nil, "stored readings are not available on this instance")

	v1.NotFoundHandler, v1.MethodNotAllowedHandler = s.cors(noRoute), s.cors(noRoute) // browsers may read why
	v1.Use(s.cors, s.authenticate)
	v1.Methods(http.MethodOptions).Handler(s.handlePreflight())
	read := func(name string, h http.Handler) http.Handler { return s.instrument(name, s.limit(ClassRead, h)) }
	query := func(name string, h http.Handler) http.Handler { return read(name, s.queryLimit(h)) } // reads InfluxDB
	write := func(name, scope string, h http.Handler) http.Handler {
		return s.instrument(name, s.limit(ClassWrite, s.require(scope, h)))
	}
	push := func(name string, h http.Handler) http.Handler {
		return s.instrument(name, s.limit(ClassPush, ingest(h)))
	}

	v1.Handle("/openapi.json", read("openapi", s.handleOpenAPI())).Methods(getOrHead...)
	v1.Handle("/devices", read("devices", s.handleDevices())).Methods(getOrHead...)
	v1.Handle("/devices", write("device_create", ScopeDevicesWrite, changes(s.handleCreateDevice()))).Methods(http.MethodPost)
	v1.Handle("/devices/search", read("device_search", s.handleSearch())).Methods(http.MethodPost)
	v1.Handle("/devices/{id}", read("device", s.handleDevice())).Methods(getOrHead...)
	v1.Handle("/devices/{id}", write("device_replace", ScopeDevicesWrite, changes(s.handleReplaceDevice()))).Methods(http.MethodPut)
	v1.Handle("/devices/{id}", write("device_delete", ScopeDevicesWrite, changes(s.handleDeleteDevice()))).Methods(http.MethodDelete)
	v1.Handle("/devices/{id}/readings", query("device_readings", history(s.handleReadings()))).Methods(getOrHead...)
	v1.Handle("/devices/{id}/quality", query("device_quality", s.handleDeviceQuality())).Methods(getOrHead...)
	v1.Handle("/latest", read("latest", s.handleLatest())).Methods(getOrHead...)
	v1.Handle("/nearest", read("nearest", s.handleNearest())).Methods(getOrHead...)
	v1.Handle("/districts", read("districts", districts(s.handleDistricts()))).Methods(getOrHead...)
	v1.Handle("/districts/{id}", read("district", districts(s.handleDistrict()))).Methods(getOrHead...)
	v1.Handle("/districts/{id}/readings", query("district_readings", districts(history(s.handleDistrictReadings())))).Methods(getOrHead...)

	v1.Handle("/archive/days/{day}", write("archive_build", ScopeAdmin, archive(s.handleBuildArchive()))).Methods(http.MethodPost)
	v1.Handle("/airquality/devices/{id}/{year}", query("airquality_device", airQuality(s.handleAirQualityDevice()))).Methods(getOrHead...)
	v1.Handle("/airquality/districts/{id}/{year}", query("airquality_district", districts(airQuality(s.handleAirQualityDistrict())))).Methods(getOrHead...)

	v1.Handle("/catalog", read("catalog", s.handleCatalog(""))).Methods(getOrHead...)
	v1.Handle("/catalog.jsonld", read("catalog", s.handleCatalog(rdfJSONLD))).Methods(getOrHead...)
	v1.Handle("/catalog.ttl", read("catalog", s.handleCatalog(rdfTurtle))).Methods(getOrHead...)
	v1.Handle("/catalog.rdf", read("catalog", s.handleCatalog(rdfXML))).Methods(getOrHead...)
	v1.Handle("/usage", query("usage", s.handleUsage())).Methods(getOrHead...)
	v1.Handle("/alerts", read("alerts", alerts(s.handleAlerts()))).Methods(getOrHead...)
	v1.Handle("/alerts/stream", s.instrument("alerts_stream", s.limit(ClassRead, alerts(s.streamLimit(s.handleStream()))))).Methods(getOrHead...)
	v1.Handle("/alerts/{id}", read("alert", alerts(s.handleAlert()))).Methods(getOrHead...)
	v1.Handle("/alerts/{id}/ack", write("alert_ack", ScopeAlertsManage, alerts(s.handleAck()))).Methods(http.MethodPost)

	v1.Handle("/rules", write("rules", ScopeRulesRead, rules(s.handleRules()))).Methods(getOrHead...)
	v1.Handle("/rules", write("rule_create", ScopeRulesWrite, rules(s.handlePutRule(true)))).Methods(http.MethodPost)
	v1.Handle("/rules/{id}", write("rule", ScopeRulesRead, rules(s.handleRule()))).Methods(getOrHead...)
	v1.Handle("/rules/{id}", write("rule_replace", ScopeRulesWrite, rules(s.handlePutRule(false)))).Methods(http.MethodPut)
	v1.Handle("/rules/{id}", write("rule_delete", ScopeRulesWrite, rules(s.handleDeleteRule()))).Methods(http.MethodDelete)

	s.evidenceRoutes(v1) // the winter service's evidence (evidence.go)

	// Operations.
	v1.Handle("/deadletters", write("deadletters", ScopeAdmin, deadLetters(s.queryLimit(s.handleDeadLetters())))).Methods(getOrHead...)

	// Device push over HTTP, for devices that cannot speak MQTT.
	v1.Handle("/push/airrohr", push("push_airrohr", s.handlePushAirrohr())).Methods(http.MethodPost)
	v1.Handle("/devices/{id}/readings", push("device_push", s.handleDevicePush())).Methods(http.MethodPost)
}
