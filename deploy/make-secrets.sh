#!/usr/bin/env bash
# Makes the secrets the compose and Kubernetes set-ups read, as one file each, in DIR:
#   admin_token              the hub admin's API token (OUTPOST_ADMIN_TOKEN, set on the hub's first start)
#   mqtt_hub_password        the hub's Mosquitto admin password (MQTT_PASSWORD; start.sh creates the account)
#   sqld_jwt_private_key.pem signs sqld access tokens; keep it off the servers (nothing mounts it)
#   sqld_jwt_public_key.pem  sqld checks tokens with it (SQLD_AUTH_JWT_KEY_FILE)
#   sqld_token               the hub's sqld access token (DATABASE_AUTH_TOKEN), an EdDSA JWT without expiry
# Usage: deploy/make-secrets.sh DIR   (compose: deploy/secrets; Kubernetes: deploy/k8s/secrets)
# Only missing files are made: an existing secret is never replaced (to rotate one, delete it and run again).
# Needs bash and openssl 3.
set -euo pipefail

dir=${1:?usage: make-secrets.sh DIR}
command -v openssl >/dev/null || { echo "make-secrets.sh: openssl is needed" >&2; exit 1; }
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
random() { openssl rand 32 | b64url; }
made=()
create() { # create NAME COMMAND...: writes COMMAND's output to DIR/NAME unless it exists
  local name=$1; shift
  [ -e "$dir/$name" ] && return 0
  "$@" >"$dir/$name.tmp"
  mv "$dir/$name.tmp" "$dir/$name"
  made+=("$name")
}

create admin_token sh -c 'printf "opa_%s" "$1"' _ "$(random)"
create mqtt_hub_password random
create sqld_jwt_private_key.pem openssl genpkey -algorithm ed25519
create sqld_jwt_public_key.pem openssl pkey -in "$dir/sqld_jwt_private_key.pem" -pubout
sqld_token() {
  local header payload signature
  header=$(printf '{"alg":"EdDSA","typ":"JWT"}' | b64url)
  payload=$(printf '{"iat":%s}' "$(date +%s)" | b64url)
  # pkeyutl -rawin (Ed25519 signs the message itself, not a digest) wants a file, not a pipe.
  printf '%s.%s' "$header" "$payload" >"$dir/.signing-input"
  signature=$(openssl pkeyutl -sign -rawin -inkey "$dir/sqld_jwt_private_key.pem" -in "$dir/.signing-input" | b64url)
  rm -f "$dir/.signing-input"
  printf '%s.%s.%s' "$header" "$payload" "$signature"
}
create sqld_token sqld_token

# Compose bind-mounts each file into containers whose users (the hub's uid 10001, sqld's) do not own it:
# the files are readable, the 0700 directory keeps everyone else on this machine out.
chmod 0444 "$dir"/admin_token "$dir"/mqtt_hub_password "$dir"/sqld_jwt_public_key.pem "$dir"/sqld_token
chmod 0400 "$dir"/sqld_jwt_private_key.pem
if [ ${#made[@]} -eq 0 ]; then echo "make-secrets.sh: $dir already holds every secret; nothing changed"
else echo "make-secrets.sh: made ${made[*]} in $dir"; fi
