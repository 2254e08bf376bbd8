#!/usr/bin/env bash
# Installs the peers that bench/compare.sh runs side by side with nself:
#   npm (from the committed package-lock.json, into bench/peers/node_modules):
#     uwebsockets 3.0.6 (uWebSockets.js binaries), ws, socket.io;
#   Debian: nginx and libnginx-mod-nchan.
# Idempotent and silent when everything is installed. The nginx package starts
# a system nginx on port 80 when installed: this script keeps it from starting
# (a policy-rc.d for the length of the install), then stops and disables it in
# case it started anyway. compare.sh runs nginx as a plain process with its own
# configuration in a temporary directory.
# --print installs nothing and lists the Debian packages, "deb <package>" a line.
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)"
debs=(nginx libnginx-mod-nchan)
if [ "${1:-}" = --print ]; then
  printf 'deb %s\n' "${debs[@]}"
  exit 0
fi

npm_installed() {
  [ -d "$dir/node_modules/uwebsockets" ] && [ -d "$dir/node_modules/ws" ] &&
    [ -d "$dir/node_modules/socket.io" ] &&
    [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]
}

if ! npm_installed; then
  command -v npm >/dev/null 2>&1 || { echo "bench/peers/install.sh: npm not found (make deps)" >&2; exit 1; }
  npm ci --prefix "$dir" --no-audit --no-fund --silent
fi

missing=()
for package in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "bench/peers/install.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d exit 101 = "action forbidden": the package's postinst does not
# start the service. Only ours is removed afterwards.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  own_policy=1
fi
cleanup() { [ "$own_policy" -eq 1 ] && $sudo rm -f "$policy"; true; }
trap cleanup EXIT
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Whatever the init system, leave no system nginx running or enabled.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now nginx >/dev/null 2>&1 || true
else
  $sudo service nginx stop >/dev/null 2>&1 || true
  command -v update-rc.d >/dev/null 2>&1 && { $sudo update-rc.d nginx disable >/dev/null 2>&1 || true; }
fi
