#!/usr/bin/env bash
# Installs the real daemons that test/daemons/*.ts start (OVN, LXD, Ceph, Mosquitto) from Debian's packages,
# Chromium for the dashboard test, and the validators test/deploy runs (systemd-analyze, cloud-init).
# Idempotent: packages already installed (dpkg -s) are skipped, and `apt-get update` runs only when something
# must be installed. Needs root (or sudo) and the Debian mirror. Prints what it did and how long it took;
# exits non-zero with apt's own error output when an install fails.
set -euo pipefail

PACKAGES=(
  ovn-central openvswitch-common                 # ovsdb-server, ovsdb-tool, ovn-nbctl, ovn-northd
  lxd busybox-static nftables iptables           # nftables + iptables must be present before lxd starts
  dnsmasq-base                                   # LXD managed networks (bridges) need dnsmasq (a Recommends)
  ceph-mon ceph-osd ceph-mgr ceph-common                  # ceph, rbd, rados, ceph-authtool, monmaptool
  dpkg-dev                                                # dpkg-scanpackages: the host driver test builds an apt repo
  mosquitto mosquitto-clients                    # mosquitto, mosquitto_pub/_sub, mosquitto_ctrl
  chromium                                       # the dashboard test drives it headless (playwright-core)
  systemd cloud-init openssl                     # test/deploy: systemd-analyze verify/security, cloud-init schema, make-secrets.sh
  faketime                                       # the clock-skew fault case runs agents an hour ahead / behind
  g++ make python3                               # pnpm install compiles better-sqlite3 (the agent's SQLite) when its prebuilt binary cannot be downloaded
)

start=$(date +%s.%N)
elapsed() { awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

missing=()
for p in "${PACKAGES[@]}"; do
  # `dpkg -s` succeeds for removed-but-not-purged packages too: require the "install ok installed" status.
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ]; then
    :
  else
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "test/daemons/install.sh: all ${#PACKAGES[@]} packages already installed, nothing to do ($(elapsed) s)"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "test/daemons/install.sh: must run as root (or with sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi

echo "test/daemons/install.sh: installing ${#missing[@]} package(s): ${missing[*]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() {
  # Runs an apt command quietly; on failure prints its full output and the command, then exits.
  if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "$@" >"$log" 2>&1; then
    echo "test/daemons/install.sh: FAILED after $(elapsed) s: $*" >&2
    cat "$log" >&2
    exit 1
  fi
}

run apt-get update
echo "  apt-get update done ($(elapsed) s)"
run apt-get install -y --no-install-recommends "${missing[@]}"
echo "  apt-get install done ($(elapsed) s)"

# Check that what the harness runs is now on PATH (a package can install without the binary we expect).
for bin in ovsdb-server ovsdb-tool ovn-nbctl ovn-northd lxd lxc busybox nft iptables dnsmasq ceph-mon ceph-osd ceph-mgr ceph ceph-authtool monmaptool rbd mosquitto mosquitto_pub mosquitto_sub mosquitto_ctrl chromium systemd-analyze systemctl cloud-init openssl unshare; do
  command -v "$bin" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$bin" >/dev/null 2>&1 \
    || { echo "test/daemons/install.sh: installed, but '$bin' is not on PATH" >&2; exit 1; }
done

echo "test/daemons/install.sh: installed ${missing[*]} in $(elapsed) s"
