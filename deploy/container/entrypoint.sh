#!/bin/sh
# The hub container's entrypoint. The hub reads its secrets from the environment; compose and Kubernetes hand
# them over as files. For each secret below, NAME_FILE=<path> sets NAME to the file's content (trailing
# newlines dropped), so no secret has to sit in the compose file, the image or `docker inspect`. Then it runs
# the command (CMD: `node bin/outpost.js hub start`).
set -eu

for name in OUTPOST_ADMIN_TOKEN DATABASE_AUTH_TOKEN MQTT_PASSWORD; do
  eval "file=\${${name}_FILE:-}"
  [ -n "$file" ] || continue
  eval "direct=\${${name}:-}"
  if [ -n "$direct" ]; then
    echo "outpost-entrypoint: both $name and ${name}_FILE are set; set one" >&2
    exit 64
  fi
  if [ ! -r "$file" ]; then
    echo "outpost-entrypoint: ${name}_FILE=$file cannot be read" >&2
    exit 66
  fi
  value=$(cat "$file")
  if [ -z "$value" ]; then
    echo "outpost-entrypoint: ${name}_FILE=$file is empty" >&2
    exit 65
  fi
  export "$name=$value"
  unset "${name}_FILE"
done

exec "$@"
