#!/usr/bin/env bash
# Installs what RobustSynth needs on Debian/Ubuntu, only where it is missing:
#   libffi-dev (plugin parameters), libpng-dev and libjpeg62-turbo-dev (images),
#   libdnnl-dev (oneDNN: the CPU kernels of the ResNet engine), a C compiler.
# With --tests, also what the test suite uses besides Swift: python3 with jsonschema and PyYAML
# (an independent JSON Schema implementation to check Schemas/ against the examples), and for
# Tests/install-tests.sh man-db (man -l), patchelf and dpkg-dev (scripts/make-deb.sh), zsh and fish
# (their completion is run), and chromium-headless-shell for the studio's browser test (without
# its recommended packages: about 20 packages, 220 MB).
# With --packaging, only the latter two besides the build's packages (scripts/make-deb.sh).
set -euo pipefail

packages=(libffi-dev libpng-dev libjpeg62-turbo-dev libdnnl-dev gcc libc6-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
extra=()
case "${1:-}" in
    --tests) command -v python3 >/dev/null || missing+=(python3 python3-pip); extra=(man-db patchelf dpkg-dev zsh fish) ;;
    --packaging) extra=(patchelf dpkg-dev) ;;
esac
if [ ${#extra[@]} -gt 0 ]; then
    for p in "${extra[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing: ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "${1:-}" = "--tests" ] && ! dpkg-query -W -f='${Status}' chromium-headless-shell 2>/dev/null | grep -q "install ok installed"; then
    echo "Installing: chromium-headless-shell" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    [ ${#missing[@]} -gt 0 ] || $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium-headless-shell >/dev/null
fi
if [ "${1:-}" = "--tests" ]; then
    if ! python3 -c "import jsonschema, yaml" 2>/dev/null; then
        echo "Installing python3 packages: jsonschema pyyaml" >&2
        python3 -m pip install -q jsonschema pyyaml 2>/dev/null \
            || python3 -m pip install -q --break-system-packages jsonschema pyyaml
    fi
fi
