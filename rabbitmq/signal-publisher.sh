#!/bin/sh
# Create or update Stevora's signal publisher user on this RabbitMQ node, with rabbitmqctl only.
#
#   STEVORA_SIGNAL_PUBLISHER_PASSWORD=... rabbitmq/signal-publisher.sh [VHOST]
#
# The user (STEVORA_SIGNAL_PUBLISHER_USER, default stevora-signals) may write to the exchange
# stevora.signals on VHOST (default /) and nothing else: no configure, no read, no other
# exchange, the default exchange included. This is the user half of `stevora rabbitmq-setup`,
# for a broker host where Stevora is not installed; the exchange and its binding come from
# `stevora rabbitmq-setup --skip-user`, run anywhere with the admin BROKER_URL. Safe to run
# again: it sets the password anew and the same permissions.
set -eu

user="${STEVORA_SIGNAL_PUBLISHER_USER:-stevora-signals}"
password="${STEVORA_SIGNAL_PUBLISHER_PASSWORD:?set STEVORA_SIGNAL_PUBLISHER_PASSWORD}"
vhost="${1:-/}"

# rabbitmqctl reads the password on its standard input (not on a command line others can
# see with ps) and trims it: refuse what it would change.
newline='
'
case "$password" in
  [[:space:]]* | *[[:space:]] | *"$newline"*)
    echo "signal-publisher.sh: the password must be one line without whitespace at either end" >&2
    exit 1
    ;;
esac

if rabbitmqctl -q list_users --no-table-headers | cut -f1 | grep -Fqx -- "$user"; then
  printf '%s\n' "$password" | rabbitmqctl -q change_password "$user"
  done="Updated"
else
  printf '%s\n' "$password" | rabbitmqctl -q add_user "$user"
  done="Created"
fi
rabbitmqctl -q set_permissions -p "$vhost" "$user" '^$' '^stevora\.signals$' '^$'
echo "$done user $user: it may publish to exchange stevora.signals only, on vhost $vhost."
