# Kessel: the two commands are `make run` and `make test`.
SHELL := /bin/bash
GO    ?= go

.PHONY: run test test-hostile deps deps-run deps-test build vet bench bench-geo bench-ingest bench-api bench-sim bench-alert bench-history clean

## run: install what is missing, start InfluxDB, the hub and a simulated fleet
run: deps-run build
	deploy/scripts/run.sh

## test: install what is missing and run every test (unit, integration, end to end)
test: deps-test vet
	KESSEL_REQUIRE_INTEGRATION=1 $(GO) test -count=1 -timeout 20m ./...
	# the packages whose concurrency is their contract, again under the race detector
	KESSEL_REQUIRE_INTEGRATION=1 $(GO) test -race -count=1 -timeout 10m ./geo/ ./alert/ ./ingest/ ./broker/ ./jetstream/

## test-hostile: the scripted attack campaign alone (also part of make test), with its counts
test-hostile: deps-test
	KESSEL_REQUIRE_INTEGRATION=1 $(GO) test -count=1 -v -run 'TestHostileCampaign$$' ./cmd/kessel/ | grep -v '^=== '

deps:
	deploy/scripts/install-deps.sh

# what make run needs, and the MQTT command-line clients its walk-through uses
deps-run:
	deploy/scripts/install-deps.sh --mqtt-clients

deps-test:
	deploy/scripts/install-deps.sh --mosquitto --browser --node-tools --gdal

build:
	$(GO) build -o bin/kessel ./cmd/kessel
	$(GO) build -o bin/kessel-sim ./cmd/kessel-sim

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

## bench: print the benchmark figures
bench: bench-geo bench-ingest bench-api bench-sim bench-alert

bench-geo:
	$(GO) test -run '^$$' -bench . -benchmem ./geo/

# Telegraf drains the same queued burst first (the baseline), then Kessel
# on its embedded durable broker, three times in turn (the machine's
# speed drifts over the run's minutes: the target is judged on the median
# of the three pairs), then through mosquitto, each with and without
# quality control, and through mosquitto while the archive of a
# 10,000-device day is written; the last lines compare each drain with
# Telegraf's of the same run.
bench-ingest: export BENCH_RESULTS := $(CURDIR)/bin/bench-ingest.results
bench-ingest: deps-test build
	deploy/scripts/install-deps.sh --telegraf
	rm -f "$$BENCH_RESULTS"; uptime
	deploy/scripts/bench-ingest-telegraf.sh
	deploy/scripts/bench-ingest-embedded.sh
	deploy/scripts/bench-ingest-telegraf.sh
	BENCH_DRAIN_ONLY=1 deploy/scripts/bench-ingest-embedded.sh
	deploy/scripts/bench-ingest-telegraf.sh
	BENCH_DRAIN_ONLY=1 deploy/scripts/bench-ingest-embedded.sh
	BENCH_LABEL="without QC" BENCH_DRAIN_ONLY=1 BENCH_KESSEL_ARGS="$(BENCH_KESSEL_ARGS) --qc=false" deploy/scripts/bench-ingest-embedded.sh
	deploy/scripts/bench-ingest.sh
	BENCH_LABEL="without QC" BENCH_KESSEL_ARGS="$(BENCH_KESSEL_ARGS) --qc=false" deploy/scripts/bench-ingest.sh
	BENCH_LABEL="with QC and SensorThings feed" BENCH_KESSEL_ARGS="$(BENCH_KESSEL_ARGS) --sta-mqtt=all" deploy/scripts/bench-ingest.sh
	BENCH_LABEL="while archiving" BENCH_ARCHIVE_DEVICES=10000 deploy/scripts/bench-ingest.sh
	deploy/scripts/bench-ingest-summary.sh; uptime

bench-api: deps build
	deploy/scripts/install-deps.sh --bench --browser
	deploy/scripts/bench-api.sh
	# the day everyone looks: 1,000 SSE clients while readings flow at 10,000/s
	KESSEL_REQUIRE_INTEGRATION=1 $(GO) test -run '^$$' -bench SSEFanOut -benchtime 1x ./cmd/kessel/ | grep -Ev '^(goos|goarch|pkg|cpu):'
	# the citizens' page: first render of the map with 10,000 devices in headless Chromium
	KESSEL_REQUIRE_INTEGRATION=1 $(GO) test -run '^$$' -bench FirstRender -benchtime 3x ./web/ | grep -E 'first render|ms/first-render|^(ok|FAIL)'

bench-sim: deps-test build
	deploy/scripts/bench-sim.sh

# a year of 1-minute data of 100 devices: about half an hour on 2 cores; scale with
# BENCH_DEVICES, BENCH_DAYS, BENCH_INTERVAL (see the script)
bench-history: deps build
	deploy/scripts/bench-history.sh

bench-alert: deps-test
	$(GO) test -run '^$$' -bench . -benchtime 2s ./alert/
	$(GO) test -run '^$$' -bench AlertLatencySSE -benchtime 100x ./cmd/kessel/
	$(GO) test -run '^$$' -bench SSEFanOut -benchtime 1x ./cmd/kessel/

clean:
	rm -rf bin var
