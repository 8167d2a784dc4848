#!/usr/bin/env bash
# Wires Claude Code to the collector for the user named in USER_NAME/USER_EMAIL, then
# runs the command (Claude Code by default). Outside Docker it works the same against
# any HOME, which is how it is tested.
set -euo pipefail

fail() {
  printf 'claude-code container: %s\n' "$*" >&2
  exit 64
}

[ -n "${USER_NAME:-}" ] || fail 'USER_NAME is not set. Run: export USER_NAME="Jane Doe" USER_EMAIL="jane@example.com"'
[ -n "${USER_EMAIL:-}" ] || fail 'USER_EMAIL is not set. Run: export USER_NAME="Jane Doe" USER_EMAIL="jane@example.com"'

git config --global user.name "$USER_NAME"
git config --global user.email "$USER_EMAIL"

url="${CLAUDE_TELEMETRY_URL:-${PROMETHEUS_PUSH_GATEWAY:-http://pushgateway:9091}}"
# What install wires into the user's settings; a new option of install goes here.
# --sandbox: Claude Code's own sandbox (bubblewrap) confines every command the model runs;
# inside it the passwordless sudo does nothing (no new privileges).
install_args=(--user --url "$url" --user-name "$USER_NAME" --user-email "$USER_EMAIL" --sandbox)
claude-telemetry install "${install_args[@]}" >/dev/null

# ./workspace is mounted from the host with the host's owner: say so when claude-user
# (uid set at build time, USER_UID) cannot write there, instead of failing later.
workspace="$HOME/workspace"
if [ -d "$workspace" ] && [ ! -w "$workspace" ]; then
  printf 'claude-code container: %s is not writable by uid %s: chown it on the host, or build the image with --build-arg USER_UID=<your uid>\n' \
    "$workspace" "$(id -u)" >&2
fi

if [ "$#" -eq 0 ]; then
  set -- claude --dangerously-skip-permissions
fi

# The original stack's direct mode: Claude Code serves its own Prometheus exporter on
# :9464 (command-line settings win over the user settings install wrote).
if [ "${CLAUDE_TELEMETRY_MODE:-}" = "direct" ] && [ "$1" = "claude" ]; then
  set -- "$@" --settings '{"env":{"OTEL_METRICS_EXPORTER":"prometheus","OTEL_EXPORTER_PROMETHEUS_HOST":"0.0.0.0","OTEL_EXPORTER_PROMETHEUS_PORT":"9464"}}'
fi

exec "$@"
