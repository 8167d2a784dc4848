#!/bin/sh
# Starts Prometheus (the command given) after writing the collector's bearer token,
# $CLAUDE_TELEMETRY_TOKEN, where the scrape config reads it
# (`authorization.credentials_file: secrets/token`, beside the config, on a tmpfs the
# compose file mounts there). Prometheus's config cannot read the environment; this
# keeps the token out of every file in the repository. Without a token the file is
# empty and the collector, which then asks for none, ignores the header.
set -eu
file="${CLAUDE_TELEMETRY_TOKEN_FILE:-/etc/prometheus/secrets/token}"
umask 077
mkdir -p "$(dirname "$file")"
printf '%s' "${CLAUDE_TELEMETRY_TOKEN:-}" >"$file"
exec "$@"
