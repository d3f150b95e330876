#!/usr/bin/env bash
# Runs a command in its own session and, when it ends, kills whatever it left behind
# (a WebKitWebDriver orphaned by a crashed tauri-driver would otherwise hold the pipes open).
set -uo pipefail
setsid --wait "$@" &
pid=$!
trap 'kill -TERM -- -$pid 2>/dev/null' INT TERM
wait "$pid"
status=$?
kill -TERM -- -"$pid" 2>/dev/null || true
exit "$status"
