#!/usr/bin/env bash
# Installs what building and testing Ecosystem needs on Debian/Ubuntu, skipping whatever is
# already there: system packages (WebKitGTK, Xvfb, the WebKit WebDriver), tauri-driver, and
# the npm packages. Safe to run again; it only does work when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

packages=(
  build-essential pkg-config curl file
  libwebkit2gtk-4.1-dev libssl-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev
  xvfb xauth dbus-x11 webkit2gtk-driver fonts-dejavu-core x11-utils imagemagick
  xdotool
  gnome-keyring dbus-daemon dbus-bin libsecret-tools
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing system packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 \
    install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v tauri-driver >/dev/null 2>&1; then
  say "installing tauri-driver"
  cargo install tauri-driver --version '^2' --locked
fi

# npm ci only when package-lock.json changed since the last install.
stamp=node_modules/.ecosystem-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  say "installing npm packages"
  npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
fi
