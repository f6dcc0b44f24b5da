#!/usr/bin/env bash
# `make deps`: installs the system packages Tally's tests and local stack need, when missing:
#   - valkey-server and valkey-cli (Valkey 8) from Debian bookworm-backports,
#   - the PostgreSQL server (Debian's postgresql package),
#   - curl (the local stack and the smoke check talk to Flink's REST API with it),
#   - openssl (the TLS tests make a throw-away CA and server certificate with it),
#   - Prometheus and promtool (Debian's prometheus package: the local stack scrapes the job with
#     it; the tests check the alert rules with promtool),
#   - the PostgreSQL and Redis exporters for Prometheus (Debian's prometheus-postgres-exporter and
#     prometheus-redis-exporter: the local stack's Prometheus scrapes PostgreSQL and Valkey too),
#   - wrk (make bench's serving phase loads tally serve with it).
# Does nothing when all are present. Uses sudo when not run as root.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

have_valkey() { command -v valkey-server >/dev/null 2>&1 && command -v valkey-cli >/dev/null 2>&1; }
have_postgres() { ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; }
have_curl() { command -v curl >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; }
have_prometheus() { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; }
have_exporters() {
  command -v prometheus-postgres-exporter >/dev/null 2>&1 \
    && command -v prometheus-redis-exporter >/dev/null 2>&1
}
have_wrk() { command -v wrk >/dev/null 2>&1; }
valkey_version() { valkey-server --version | sed -E 's/.* v=([^ ]+).*/\1/'; }

if have_valkey && have_postgres && have_curl && have_prometheus && have_exporters && have_wrk; then
  echo "deps: valkey-server $(valkey_version), PostgreSQL, curl, openssl, Prometheus and its exporters, wrk present; nothing to install"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 \
  || { echo "deps: apt-get not found; install valkey-server (>= 8), a PostgreSQL server, curl and Prometheus (with promtool) yourself" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"

if ! have_valkey; then
  if ! grep -rqs "${codename}-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deps: adding ${codename}-backports to /etc/apt/sources.list.d/tally-backports.list"
    echo "deb http://deb.debian.org/debian ${codename}-backports main" \
      | $SUDO tee /etc/apt/sources.list.d/tally-backports.list >/dev/null
  fi
fi

echo "deps: apt-get update"
$SUDO apt-get update -qq
if ! have_valkey; then
  echo "deps: installing valkey-server valkey-tools from ${codename}-backports"
  $SUDO apt-get install -y -qq -t "${codename}-backports" valkey-server valkey-tools
  # Where systemd runs, the package starts a system valkey on :6379; Tally starts its own.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet valkey-server 2>/dev/null; then
    $SUDO systemctl disable --now valkey-server >/dev/null 2>&1 || true
  fi
fi
if ! have_postgres; then
  echo "deps: installing postgresql"
  $SUDO apt-get install -y -qq postgresql
fi
if ! have_curl; then
  echo "deps: installing curl and openssl"
  $SUDO apt-get install -y -qq curl openssl
fi

if ! have_wrk; then
  echo "deps: installing wrk (make bench's serving phase)"
  $SUDO apt-get install -y -qq wrk
fi

if ! have_prometheus; then
  echo "deps: installing prometheus (with promtool)"
  $SUDO apt-get install -y -qq --no-install-recommends prometheus
  # Where systemd runs, the package starts a system Prometheus on :9090; Tally starts its own.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

if ! have_exporters; then
  echo "deps: installing the PostgreSQL and Redis/Valkey exporters for Prometheus"
  $SUDO apt-get install -y -qq --no-install-recommends prometheus-postgres-exporter \
    prometheus-redis-exporter
  # As with Prometheus: the packages start system services; the local stack runs its own.
  if command -v systemctl >/dev/null 2>&1; then
    for unit in prometheus-postgres-exporter prometheus-redis-exporter; do
      if systemctl is-active --quiet "$unit" 2>/dev/null; then
        $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
      fi
    done
  fi
fi

have_valkey && have_postgres && have_curl && have_prometheus && have_exporters && have_wrk
echo "deps: ready (valkey-server $(valkey_version))"
