#!/bin/sh
# Install the Debian packages tdl needs to build and test, if any are missing.
# As root it runs apt-get itself; otherwise it prints the exact command.
# Usage: scripts/setup.sh [--with-torch] [--with-fuzz]
#   --with-torch  also python3-torch, needed only to regenerate the PyTorch
#                 fixtures with tools/gen_fixtures.py (make fixtures)
#   --with-fuzz   also clang and its libFuzzer runtime (make fuzz)
set -eu

PKGS="gcc make cmake pkg-config libopenblas-openmp-dev libjansson-dev libcsv-dev gnuplot-nox"
for arg in "$@"; do
    case "$arg" in
    --with-torch) PKGS="$PKGS python3-torch python3-numpy" ;;
    --with-fuzz) PKGS="$PKGS clang libclang-rt-14-dev" ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
    esac
done

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "setup: missing Debian packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "setup: run as root:  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
