#!/usr/bin/env bash
# Installs what Kessel's make targets need and this machine lacks:
#   - influxd 1.8.10 (built from source with `go install`) into ./bin
#   - nats-server at the version go.mod pins (built with `go build`) into ./bin,
#     for the NATS cluster failure test
#   - mosquitto (Debian package; needs root) for the external-broker tests
#   - with --mqtt-clients (make run): mosquitto_pub and mosquitto_sub (Debian
#     package mosquitto-clients; needs root), which the README's walk-through
#     uses; without root it says how to install them and goes on
#   - chromium + chromium-driver (Debian packages; needs root) with --browser
#   - gdal-bin (Debian package; needs root) with --gdal, for the test of the
#     OGC API - Features with GDAL's OAPIF driver (ogrinfo, ogr2ogr)
#   - with --telegraf (make bench-ingest's baseline): telegraf 1.37.2 with
#     only its MQTT consumer, JSON parser and InfluxDB output (built from
#     source with `go install` and Telegraf's custom build tags) into ./bin
# Safe to run again: it only installs what is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$root/bin"
mkdir -p "$bin"

want_mosquitto=0
want_clients=0
want_browser=0
want_node=0
want_bench=0
want_gdal=0
want_telegraf=0
for arg in "$@"; do
  case "$arg" in
    --mosquitto) want_mosquitto=1 ;;
    --mqtt-clients) want_clients=1 ;;
    --browser) want_browser=1 ;;
    --node-tools) want_node=1 ;;
    --bench) want_bench=1 ;;
    --gdal) want_gdal=1 ;;
    --telegraf) want_telegraf=1 ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

if [ ! -x "$bin/influxd" ]; then
  echo "install-deps: building influxd 1.8.10 into $bin (about 2 minutes, once)"
  GOBIN="$bin" GOFLAGS=-buildvcs=false go install -ldflags "-X main.version=1.8.10" github.com/influxdata/influxdb/cmd/influxd@v1.8.10
fi

# nats-server at the version go.mod pins (the embedded broker's), for the
# cluster failure test: built from the module cache, a few seconds.
nats_want="$(cd "$root" && go list -m -f '{{.Version}}' github.com/nats-io/nats-server/v2)"
if [ "$("$bin/nats-server" --version 2>/dev/null)" != "nats-server: $nats_want" ]; then
  echo "install-deps: building nats-server $nats_want into $bin"
  (cd "$root" && GOFLAGS=-buildvcs=false go build -o "$bin/nats-server" github.com/nats-io/nats-server/v2)
fi

if [ "$want_telegraf" = 1 ] && [ ! -x "$bin/telegraf" ]; then
  echo "install-deps: building telegraf 1.37.2 (MQTT consumer, JSON, InfluxDB output) into $bin (several minutes, once)"
  GOBIN="$bin" GOFLAGS=-buildvcs=false go install -tags custom,inputs.mqtt_consumer,outputs.influxdb,parsers.json \
    github.com/influxdata/telegraf/cmd/telegraf@v1.37.2
fi

apt_pkgs=()
if [ "$want_mosquitto" = 1 ] && ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
  apt_pkgs+=(mosquitto)
fi
if [ "$want_clients" = 1 ] && ! command -v mosquitto_pub >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt_pkgs+=(mosquitto-clients)
  else
    # Optional: Kessel runs without them; only the walk-through needs them.
    echo "install-deps: mosquitto_pub/mosquitto_sub are missing (the README uses them): sudo apt-get install mosquitto-clients" >&2
  fi
fi
if [ "$want_browser" = 1 ] && ! command -v chromium >/dev/null; then
  apt_pkgs+=(chromium)
fi
if [ "$want_bench" = 1 ] && ! command -v wrk >/dev/null; then
  apt_pkgs+=(wrk)
fi
if [ "$want_gdal" = 1 ] && ! command -v ogrinfo >/dev/null; then
  apt_pkgs+=(gdal-bin)
fi
if [ "$want_node" = 1 ] && ! command -v npm >/dev/null; then
  apt_pkgs+=(nodejs npm)
fi
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: please install ${apt_pkgs[*]} (sudo apt-get install ${apt_pkgs[*]}), or run as root" >&2
    exit 1
  fi
  echo "install-deps: apt-get install ${apt_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${apt_pkgs[@]}" >/dev/null
  # The package starts a system mosquitto on port 1883, which would collide
  # with Kessel's embedded broker under `make run`; the tests start their own.
  if [[ " ${apt_pkgs[*]} " == *" mosquitto "* ]]; then
    (systemctl stop mosquitto 2>/dev/null || service mosquitto stop 2>/dev/null || pkill -x mosquitto 2>/dev/null || true)
  fi
fi
if [ "$want_node" = 1 ] && [ ! -d "$root/api/testdata/validator/node_modules/@apidevtools/swagger-parser" ]; then
  echo "install-deps: npm ci (OpenAPI validator for the tests)"
  (cd "$root/api/testdata/validator" && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ "$want_node" = 1 ] && { [ ! -f "$root/api/testdata/oaslint/node_modules/@redocly/cli/bin/cli.js" ] || [ ! -f "$root/api/testdata/oaslint/node_modules/@stoplight/spectral-cli/dist/index.js" ]; }; then
  echo "install-deps: npm ci (OpenAPI linters: Redocly CLI, Spectral)"
  (cd "$root/api/testdata/oaslint" && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ "$want_node" = 1 ] && [ ! -d "$root/api/testdata/shacl/node_modules/rdf-validate-shacl" ]; then
  echo "install-deps: npm ci (SHACL validator for the catalogue test)"
  (cd "$root/api/testdata/shacl" && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ "$want_node" = 1 ] && [ ! -f "$root/web/testdata/axe/node_modules/axe-core/axe.min.js" ]; then
  echo "install-deps: npm ci (axe-core for the citizens' page test)"
  (cd "$root/web/testdata/axe" && npm ci --no-audit --no-fund --loglevel=error)
fi
exit 0
