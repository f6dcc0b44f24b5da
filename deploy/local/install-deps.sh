#!/usr/bin/env bash
# Installs the system packages Tally's tests and local stack need, when they are missing:
#   valkey-server (+ valkey-cli) from Debian bookworm-backports, and the PostgreSQL server.
# Does nothing when both are present. Uses sudo when not run as root.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

have_valkey() { command -v valkey-server >/dev/null 2>&1 && command -v valkey-cli >/dev/null 2>&1; }
have_postgres() { ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || command -v postgres >/dev/null 2>&1; }

if have_valkey && have_postgres; then
  echo "deps: valkey-server $(valkey-server --version | sed -E 's/.* v=([^ ]+).*/\1/') and PostgreSQL present; nothing to install"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: apt-get not found; install valkey-server (>= 8) and a PostgreSQL server (>= 13) yourself" >&2
  exit 1
fi

packages=()
if ! have_valkey; then
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
  backports_list=/etc/apt/sources.list.d/tally-backports.list
  if ! grep -rqs "${codename}-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deps: adding ${codename}-backports to ${backports_list}"
    echo "deb http://deb.debian.org/debian ${codename}-backports main" | $SUDO tee "${backports_list}" >/dev/null
  fi
  valkey_target=(-t "${codename}-backports")
  packages+=(valkey-server valkey-tools)
fi
if ! have_postgres; then
  packages+=(postgresql)
fi

echo "deps: installing ${packages[*]}"
$SUDO apt-get update -qq
# The postgresql package would start a system cluster on :5432; Tally starts its own servers,
# so keep the package's init scripts from launching anything.
export DEBIAN_FRONTEND=noninteractive
if ! have_valkey; then
  $SUDO apt-get install -y -qq "${valkey_target[@]}" valkey-server valkey-tools
fi
if ! have_postgres; then
  $SUDO apt-get install -y -qq postgresql
fi
# Debian starts valkey-server as a system service where systemd runs; Tally never uses it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet valkey-server 2>/dev/null; then
  $SUDO systemctl disable --now valkey-server >/dev/null 2>&1 || true
fi
have_valkey && have_postgres
echo "deps: installed; valkey-server $(valkey-server --version | sed -E 's/.* v=([^ ]+).*/\1/')"
