#!/usr/bin/env bash
# Enrolls this site's agent with the hub, once, with the bootstrap token in /etc/outpost/enroll.env
# (OUTPOST_ENROLL_TOKEN=..., from `outpost token create` on the hub), then enables and starts
# outpost-agent.service. cloud-init runs it on a new site (deploy/cloud-init/user-data.yaml); running it
# again is harmless.
#   enrolled (pending approval or approved): the token file is deleted (the site authenticates with its
#     own key from now on) and the agent unit is enabled and started; exit 0.
#   refused (bad or used-up token, another hub's token, a site name taken by another key): the agent's
#     reason is printed, nothing is enabled, the token stays for a retry; exit 1.
#   hub unreachable for OUTPOST_ENROLL_TIMEOUT seconds (default 600): the unit is enabled and started
#     anyway with the token (it keeps trying to enroll by itself); run this again once enrolled to delete
#     the token; exit 75.
# OUTPOST_ROOT=/some/dir prepares a file tree there instead of / (an image build): paths are taken under
# it, and the unit is enabled with `systemctl --root` (not started). OUTPOST_HOME is where Outpost lives.
set -euo pipefail

root=${OUTPOST_ROOT:-/}
root=${root%/}
home=${OUTPOST_HOME:-/opt/outpost}
config=$root/etc/outpost/agent.yaml
token_file=$root/etc/outpost/enroll.env
state_dir=$root/var/lib/outpost
timeout=${OUTPOST_ENROLL_TIMEOUT:-600}
unit=outpost-agent.service

say() { echo "outpost-enroll: $*" >&2; }
outpost() { node "$home/bin/outpost.js" "$@"; }
enrolled() { outpost agent status --state-dir "$state_dir" --json 2>/dev/null | grep -q '"enrolled": *true'; }

enable_unit() {
  if [ -z "$root" ]; then
    systemctl daemon-reload
    systemctl enable --now "$unit"
  else
    systemctl --root="$root" enable "$unit"
  fi
}

[ -r "$config" ] || { say "no agent config at $config"; exit 1; }

if ! enrolled; then
  if [ ! -s "$token_file" ]; then
    say "not enrolled yet and no token in $token_file: put OUTPOST_ENROLL_TOKEN=<token from \`outpost token create\`> there"
    exit 1
  fi
  say "enrolling with the hub named in $config"
  mkdir -p "$state_dir"
  chmod 0700 "$state_dir"
  # The token reaches the agent through its environment, never its command line (visible to every user).
  (
    set -a
    # shellcheck disable=SC1090
    . "$token_file"
    set +a
    exec node "$home/bin/outpost-agent.js" --config "$config" --state-dir "$state_dir"
  ) &
  agent=$!
  deadline=$((SECONDS + timeout))
  while ! enrolled; do
    if ! kill -0 "$agent" 2>/dev/null; then
      wait "$agent" && status=0 || status=$?
      say "the agent stopped before enrolling (exit $status): see its message above; nothing was enabled"
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill -TERM "$agent" 2>/dev/null || true
      wait "$agent" || true
      say "not enrolled after ${timeout} s (hub unreachable?): enabling $unit, which keeps trying with the token"
      enable_unit
      exit 75
    fi
    sleep 1
  done
  kill -TERM "$agent"
  wait "$agent" || true
  say "enrolled"
fi

rm -f "$token_file"
enable_unit
say "$unit enabled"
