#!/usr/bin/env bash
# The Python environment the `pytorch` plugin's tests run against (PyTorchPluginTests): a virtual
# environment outside the repository with torch and torchvision from PyPI, created once and then
# reused. Prints its interpreter's path on stdout (everything else goes to stderr).
#   RSYNTH_TORCH_VENV   where it lives (default ~/.cache/rsynth-torch-venv)
# PyPI's Linux torch wheels are the CUDA builds (about 5 GB with their nvidia-* packages);
# the plugin and its tests use them on the CPU, and `device: auto` picks a GPU when there is one.
set -euo pipefail
venv="${RSYNTH_TORCH_VENV:-$HOME/.cache/rsynth-torch-venv}"
python="$venv/bin/python"
if [ -x "$python" ] && "$python" -c "import torch, torchvision" 2>/dev/null; then
    echo "$python"
    exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! python3 -c "import ensurepip, venv" 2>/dev/null; then
    v=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    echo "Installing: python$v-venv" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "python$v-venv" >/dev/null
fi
echo "Creating $venv with torch and torchvision from PyPI (once; several minutes)" >&2
start=$(date +%s)
[ -x "$python" ] || python3 -m venv "$venv"
"$python" -m pip install -q --disable-pip-version-check torch torchvision >&2
# The plugin embeds the interpreter's shared libpython (Debian ships it as libpython3.X).
if ! "$python" -c '
import os, sys, sysconfig
v = sysconfig.get_config_var
names = [n for n in (v("LDLIBRARY"), v("INSTSONAME")) if n and not n.endswith(".a")]
dirs = [d for d in (v("LIBDIR"), v("LIBPL")) if d]
sys.exit(0 if any(os.path.isfile(os.path.join(d, n)) for d in dirs for n in names) else 1)'; then
    v=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    echo "Installing: libpython$v" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "libpython$v" >/dev/null
fi
echo "torch $("$python" -c 'import torch; print(torch.__version__)') ready in $venv ($(( $(date +%s) - start )) s)" >&2
echo "$python"
