#!/usr/bin/env bash
# The README's pictures of the studio, made the way a newcomer uses it: `rsynth studio` over an
# empty runs/studio-screenshots/, and Tests/studio_browser.py driving Debian's
# chromium-headless-shell through the new-run form: the quickstart's robust generation and the
# standard model's, each composed from the shipped example and run from the page, a sketch drawn,
# then the gallery, one run and the two side by side (1280x860) into Examples/results/studio-*.png.
#   bash Examples/studio-screenshots.sh [RSYNTH]   (default .build/release/rsynth)
set -euo pipefail
cd "$(dirname "$0")/.."
rsynth=${1:-.build/release/rsynth}
runs=runs/studio-screenshots
rm -rf "$runs"
port=$((20000 + RANDOM % 20000))
"$rsynth" studio --runs "$runs" --port "$port" > /dev/null 2>&1 &
server=$!
trap 'kill $server' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/" > /dev/null 2>&1 && break; sleep 0.2; done
# The examples' own settings (8 per digit, 30 steps), runs named quickstart-robust and -standard.
python3 Tests/studio_browser.py "http://127.0.0.1:$port/" Examples/results --steps 0 --per-class 0 --prefix quickstart
ls Examples/results/studio-*.png
