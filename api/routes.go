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
	v1.Handle("/openapi.json", s.instrument("openapi", s.handleOpenAPI())).Methods(http.MethodGet)
	v1.Handle("/devices", s.instrument("devices", s.handleDevices())).Methods(http.MethodGet)
	v1.Handle("/devices", s.instrument("device_create", s.require(ScopeDevicesWrite, s.handleCreateDevice()))).Methods(http.MethodPost)
	v1.Handle("/devices/search", s.instrument("device_search", s.handleSearch())).Methods(http.MethodPost)
	v1.Handle("/devices/{id}", s.instrument("device", s.handleDevice())).Methods(http.MethodGet)
	v1.Handle("/devices/{id}", s.instrument("device_replace", s.require(ScopeDevicesWrite, s.handleReplaceDevice()))).Methods(http.MethodPut)
	v1.Handle("/devices/{id}", s.instrument("device_delete", s.require(ScopeDevicesWrite, s.handleDeleteDevice()))).Methods(http.MethodDelete)
	v1.Handle("/devices/{id}/readings", s.instrument("device_readings", s.handleReadings())).Methods(http.MethodGet)
	v1.Handle("/latest", s.instrument("latest", s.handleLatest())).Methods(http.MethodGet)
	v1.Handle("/nearest", s.instrument("nearest", s.handleNearest())).Methods(http.MethodGet)
	v1.Handle("/districts", s.instrument("districts", s.handleDistricts())).Methods(http.MethodGet)
	v1.Handle("/districts/{id}", s.instrument("district", s.handleDistrict())).Methods(http.MethodGet)

	// Operations.
	v1.Handle("/deadletters", s.instrument("deadletters", s.require(ScopeAdmin, s.handleDeadLetters()))).Methods(http.MethodGet)

	// Device push over HTTP, for devices that cannot speak MQTT.
	v1.Handle("/push/airrohr", s.instrument("push_airrohr", s.handlePushAirrohr())).Methods(http.MethodPost)
}
