#!/usr/bin/env bash
# Runs a command with a real, unlocked Secret Service of its own, for the keyring tests:
#   scripts/with-keyring.sh cargo test --workspace --locked
#
# It starts a private D-Bus session bus (dbus-run-session), and inside it gnome-keyring-daemon
# with only the secrets component, unlocked with a throw-away password read on stdin. On first
# use the daemon creates the `login` collection with that password and makes it the default.
# The keyring lives in a fresh XDG_DATA_HOME, so a keyring left by an earlier run (locked
# with another password) can never get in the way, and XDG_RUNTIME_DIR is fresh too (mode
# 700, else gnome-keyring falls back to ~/.cache). Everything is removed afterwards; the
# daemon exits with its bus. See crates/core/src/credential_store.rs.
#
# keyctl (a kernel session keyring) is left out on purpose: it only matters to kernel-keyutils stores,
# and Ecosystem uses the Secret Service alone (no keyutils fallback).
#
# Needs: dbus-run-session (dbus-daemon), dbus-send (dbus-bin), gnome-keyring-daemon
# (gnome-keyring), and for the tests' cross-checks secret-tool (libsecret-tools).
set -euo pipefail

if (($# == 0)); then
  echo "usage: scripts/with-keyring.sh COMMAND [ARG...]" >&2
  exit 2
fi
for tool in dbus-run-session dbus-send gnome-keyring-daemon secret-tool; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "with-keyring.sh: $tool is missing; install gnome-keyring dbus-daemon libsecret-tools (scripts/install-deps.sh)" >&2
    exit 127
  fi
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ecosystem-keyring.XXXXXX")
cleanup() {
  # The daemon normally exits with its bus, but not when the command ended before it was
  # fully up. Stop whatever still runs with this run's private runtime folder: only our own.
  local env pid
  for env in /proc/[0-9]*/environ; do
    pid=${env#/proc/}
    pid=${pid%/environ}
    if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qxF "XDG_RUNTIME_DIR=$scratch/runtime"; then
      kill "$pid" 2>/dev/null || true
    fi
  done
  rm -rf -- "$scratch"
}
trap cleanup EXIT
mkdir -m 700 "$scratch/data" "$scratch/runtime"
export XDG_DATA_HOME="$scratch/data"
export XDG_RUNTIME_DIR="$scratch/runtime"
chmod 700 "$XDG_RUNTIME_DIR"

# Not `exec`: the trap must run to remove the scratch folder. dbus-run-session returns the
# command's exit status and stops the bus (and with it the daemon) when the command ends.
status=0
dbus-run-session -- sh -c '
  printf %s "ecosystem-test-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  # The daemon forks before it owns org.freedesktop.secrets; wait (up to 10 s) so the first
  # client does not make the bus auto-start a second, locked daemon.
  i=0
  until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; do
    i=$((i + 1))
    if [ "$i" -ge 100 ]; then
      echo "with-keyring.sh: gnome-keyring-daemon did not appear on the session bus" >&2
      exit 1
    fi
    sleep 0.1
  done
  exec "$@"' sh "$@" || status=$?
exit "$status"
