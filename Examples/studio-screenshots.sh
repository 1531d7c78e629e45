#!/usr/bin/env bash
# The README's pictures of the studio: the quickstart run with the robust and with the standard
# digit model into runs/studio-screenshots/, `rsynth studio` over that folder, and Debian's
# chromium-headless-shell taking the gallery, one run and the two side by side (1280x860) into
# Examples/results/studio-{gallery,run,compare}.png.
#   bash Examples/studio-screenshots.sh [RSYNTH]   (default .build/release/rsynth)
set -euo pipefail
cd "$(dirname "$0")/.."
rsynth=${1:-.build/release/rsynth}
runs=runs/studio-screenshots
rm -rf "$runs"; mkdir -p "$runs"
for model in robust standard; do
    weights=digits-robust.pt; [ "$model" = standard ] && weights=digits-standard.pth
    spec=Examples/.studio-$model.yaml
    sed "s#digits-robust.pt#$weights#" Examples/quickstart.yaml > "$spec"
    "$rsynth" run "$spec" --out "$runs/quickstart-$model" --quiet > /dev/null
    rm -f "$spec"
done
port=$((20000 + RANDOM % 20000))
"$rsynth" studio --runs "$runs" --port "$port" > /dev/null 2>&1 &
server=$!
trap 'kill $server' EXIT
sleep 2
shot() {  # shot NAME HASH
    timeout 60 chromium-headless-shell --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=5000 \
        --window-size=1280,860 --screenshot="$PWD/Examples/results/studio-$1.png" "http://127.0.0.1:$port/#$2" 2>/dev/null
    echo "Examples/results/studio-$1.png"
}
shot gallery ""
shot run "run=quickstart-robust"
shot compare "compare=quickstart-robust%7Cquickstart-standard"
