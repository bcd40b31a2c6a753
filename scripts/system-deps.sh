#!/usr/bin/env bash
# Check (and, as root on Debian, install) the system packages Redress needs:
#   run:  Pango and a font for WeasyPrint's PDFs
#   test: the same, plus Debian's Chromium for the browser tests
set -euo pipefail
purpose="${1:-run}"
packages=()
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || packages+=(libpango-1.0-0 libpangoft2-1.0-0)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || packages+=(fonts-dejavu-core)
if [ "$purpose" = "test" ]; then
  [ -x /usr/bin/chromium ] || packages+=(chromium)
fi
[ ${#packages[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
else
  echo "Missing system packages: ${packages[*]} (install them with: sudo apt-get install ${packages[*]})" >&2
  exit 1
fi
