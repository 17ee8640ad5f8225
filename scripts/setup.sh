#!/usr/bin/env bash
# Installs everything dvt needs to build, test and benchmark on Debian 12 (run as root, or with sudo available).
# Safe to run again: apt-get skips what is already installed.
set -euo pipefail
pkgs=(g++ cmake ninja-build pkg-config make
      libssl-dev libzstd-dev libgit2-dev libtorrent-rasterbar-dev libboost-dev libsqlitecpp-dev libsqlite3-dev
      libcli11-dev catch2 nlohmann-json3-dev
      python3 time util-linux procps coreutils git zstd
      opentracker nginx curl iproute2 iptables nftables qbittorrent-nox tcpdump
      libfuse3-dev fuse3 libcpp-httplib-dev libcurl4-openssl-dev python3-fsspec python3-torch python3-pytest)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The network testbed's UPnP/NAT-PMP router (tests/net/netbed.sh runs it inside a test's namespace only). Debian's
# package would start a daemon on this machine's own network at once: install it with service starts denied
# (policy-rc.d), then make sure no miniupnpd service is enabled.
if ! dpkg-query -W -f='${Status}' miniupnpd 2>/dev/null | grep -q "install ok installed"; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing miniupnpd (service not started)" >&2
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends miniupnpd || rc=$?
  [ "$made_policy" = 0 ] || $SUDO rm -f /usr/sbin/policy-rc.d
  [ "${rc:-0}" = 0 ] || exit "$rc"
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now miniupnpd.service 2>/dev/null || true
  fi
  command -v update-rc.d >/dev/null && { $SUDO update-rc.d miniupnpd disable 2>/dev/null || true; }
fi

# The S3-compatible test server (tests/e2e/t201_s3_mirror.sh): s3rver from the npm registry (Debian has none), in
# /opt/dvt-test/s3rver. Node.js and npm come from Debian unless a node is installed already.
S3RVER_DIR=${DVT_S3RVER_DIR:-/opt/dvt-test/s3rver}
if [ ! -x "$S3RVER_DIR/node_modules/.bin/s3rver" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if ! command -v npm >/dev/null; then
    echo "setup: installing nodejs npm" >&2
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nodejs npm
  fi
  echo "setup: installing s3rver (npm) into $S3RVER_DIR" >&2
  $SUDO mkdir -p "$S3RVER_DIR"
  $SUDO npm install --prefix "$S3RVER_DIR" --no-audit --no-fund --loglevel=error s3rver@3.7.1
fi
