#!/bin/sh
# Starts Mosquitto with the dynamic-security plugin. On the first start (no plugin file yet) it creates the
# plugin's JSON with one admin account, the hub's: DYNSEC_ADMIN_USER (= the hub's MQTT_USERNAME) with the
# password in DYNSEC_ADMIN_PASSWORD_FILE (= the hub's MQTT_PASSWORD). Later starts keep the file as it is:
# the hub has added its own role and the sites' clients to it. Rotate the password with
# `mosquitto_ctrl ... dynsec setClientPassword <user> <password>`, then change the hub's secret.
set -eu

conf=${MOSQUITTO_CONF:-/mosquitto/config/mosquitto.conf}
dynsec_file=$(sed -n 's/^[[:space:]]*plugin_opt_config_file[[:space:]][[:space:]]*//p' "$conf" | tail -n 1)
if [ -z "$dynsec_file" ]; then
  echo "mosquitto start: $conf sets no plugin_opt_config_file (the dynamic-security plugin's file)" >&2
  exit 78
fi

if [ ! -s "$dynsec_file" ]; then
  user=${DYNSEC_ADMIN_USER:?set DYNSEC_ADMIN_USER to the hub MQTT_USERNAME}
  password_file=${DYNSEC_ADMIN_PASSWORD_FILE:?set DYNSEC_ADMIN_PASSWORD_FILE to a file holding the hub MQTT_PASSWORD}
  password=$(cat "$password_file")
  if [ -z "$password" ]; then
    echo "mosquitto start: $password_file is empty" >&2
    exit 65
  fi
  umask 077
  mosquitto_ctrl dynsec init "$dynsec_file" "$user" "$password" >/dev/null
  # As root, mosquitto drops to its own user after reading its config, and the plugin rewrites this file
  # on every change: the file must be that user's.
  if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
    chown mosquitto:mosquitto "$dynsec_file"
  fi
  echo "mosquitto start: created $dynsec_file with the admin account $user"
fi

exec mosquitto -c "$conf"
