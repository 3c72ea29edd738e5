package api

import "net/http"

// routes is the map of the API: every route Kessel serves, on one page.
func (s *server) routes() {
	r := s.router
	r.NotFoundHandler = s.instrument("notfound", s.handleNotFound())
	r.MethodNotAllowedHandler = s.instrument("notallowed", s.handleMethodNotAllowed())

	r.Handle("/healthz", s.instrument("healthz", s.handleHealth())).Methods(http.MethodGet)
	r.Handle("/readyz", s.instrument("readyz", s.handleReady())).Methods(http.MethodGet)
	r.Handle("/metrics", s.handleMetrics()).Methods(http.MethodGet)
	r.Handle("/docs", s.instrument("docs", s.handleDocs())).Methods(http.MethodGet)

	v1 := r.PathPrefix("/api/v1").Subrouter()
	v1.Use(s.cors, s.authenticate)
	v1.Methods(http.MethodOptions).Handler(s.handlePreflight())
	read := func(name string, h http.Handler) http.Handler { return s.instrument(name, s.limit(ClassRead, h)) }
	write := func(name, scope string, h http.Handler) http.Handler {
		return s.instrument(name, s.limit(ClassWrite, s.require(scope, h)))
	}

	v1.Handle("/openapi.json", read("openapi", s.handleOpenAPI())).Methods(http.MethodGet)
	v1.Handle("/devices", read("devices", s.handleDevices())).Methods(http.MethodGet)
	v1.Handle("/devices", write("device_create", ScopeDevicesWrite, s.handleCreateDevice())).Methods(http.MethodPost)
	v1.Handle("/devices/search", read("device_search", s.handleSearch())).Methods(http.MethodPost)
	v1.Handle("/devices/{id}", read("device", s.handleDevice())).Methods(http.MethodGet)
	v1.Handle("/devices/{id}", write("device_replace", ScopeDevicesWrite, s.handleReplaceDevice())).Methods(http.MethodPut)
	v1.Handle("/devices/{id}", write("device_delete", ScopeDevicesWrite, s.handleDeleteDevice())).Methods(http.MethodDelete)
	v1.Handle("/devices/{id}/readings", read("device_readings", s.handleReadings())).Methods(http.MethodGet)
	v1.Handle("/latest", read("latest", s.handleLatest())).Methods(http.MethodGet)
	v1.Handle("/nearest", read("nearest", s.handleNearest())).Methods(http.MethodGet)
	v1.Handle("/districts", read("districts", s.handleDistricts())).Methods(http.MethodGet)
	v1.Handle("/districts/{id}", read("district", s.handleDistrict())).Methods(http.MethodGet)
	v1.Handle("/districts/{id}/readings", read("district_readings", s.handleDistrictReadings())).Methods(http.MethodGet)

	v1.Handle("/catalog", read("catalog", s.handleCatalog())).Methods(http.MethodGet)
	v1.Handle("/usage", read("usage", s.handleUsage())).Methods(http.MethodGet)
	v1.Handle("/alerts", read("alerts", s.handleAlerts())).Methods(http.MethodGet)
	v1.Handle("/alerts/stream", s.instrument("alerts_stream", s.limit(ClassRead, s.handleStream()))).Methods(http.MethodGet)
	v1.Handle("/alerts/{id}", read("alert", s.handleAlert())).Methods(http.MethodGet)
	v1.Handle("/alerts/{id}/ack", write("alert_ack", ScopeAlertsManage, s.handleAck())).Methods(http.MethodPost)

	v1.Handle("/rules", write("rules", ScopeRulesRead, s.handleRules())).Methods(http.MethodGet)
	v1.Handle("/rules", write("rule_create", ScopeRulesWrite, s.handlePutRule(true))).Methods(http.MethodPost)
	v1.Handle("/rules/{id}", write("rule", ScopeRulesRead, s.handleRule())).Methods(http.MethodGet)
	v1.Handle("/rules/{id}", write("rule_replace", ScopeRulesWrite, s.handlePutRule(false))).Methods(http.MethodPut)
	v1.Handle("/rules/{id}", write("rule_delete", ScopeRulesWrite, s.handleDeleteRule())).Methods(http.MethodDelete)

	// Operations.
	v1.Handle("/deadletters", write("deadletters", ScopeAdmin, s.handleDeadLetters())).Methods(http.MethodGet)

	// Device push over HTTP, for devices that cannot speak MQTT.
	v1.Handle("/push/airrohr", s.instrument("push_airrohr", s.limit(ClassPush, s.handlePushAirrohr()))).Methods(http.MethodPost)
	v1.Handle("/devices/{id}/readings", s.instrument("device_push", s.limit(ClassPush, s.handleDevicePush()))).Methods(http.MethodPost)
}
