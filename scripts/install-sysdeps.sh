#!/usr/bin/env bash
# Debian packages the project needs: a virtual X display, xdotool, Chromium for MiniWoB++,
# the X libraries Qt's xcb plugin loads, AT-SPI for the Linux a11y tree, and cmake + g++ to build
# llama-cpp-python (scripts/install-llama.sh), PostgreSQL for the fleet engine's tests (a throwaway
# cluster, tests/pg.py), third-party GTK/Qt/Tk apps the desktop evaluation and exploration run against,
# the Adwaita icon theme (the reference shapes icons are named by: grounding/icon_names.py).
# Installs only what is missing, and only when it can (root + apt-get); safe to run twice.
set -euo pipefail
PKGS=(xvfb xdotool x11-utils xauth chromium chromium-driver
      libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0 libxcb-xinerama0
      libxcb-randr0 libxcb-shape0 libxcb-render-util0 libxcb-image0 libegl1 libgl1
      libfontconfig1 libdbus-1-3 fonts-dejavu-core fonts-noto-cjk
      python3-pyatspi at-spi2-core gir1.2-atspi-2.0 python3-gi dbus-x11 zenity
      cmake g++
      postgresql
      galculator mousepad featherpad gucharmap l3afpad gitk python3-tk x11-apps xclip
      adwaita-icon-theme stress-ng)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
  echo "warning: missing Debian packages (install them as root): ${missing[*]}" >&2
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
