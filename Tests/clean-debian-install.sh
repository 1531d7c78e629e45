#!/usr/bin/env bash
# The .deb on a clean Debian machine: debootstrap makes a minimal Debian 12 (bookworm) in a
# temporary folder, `apt-get install ./rsynth_*.deb` inside it (chroot) pulls the package's
# dependencies from Debian, then `rsynth --version`, `rsynth plugins` (every plugin of
# Package.swift) and the installed quickstart run from /tmp, and `apt-get remove --purge` must
# leave no file of the package. Needs root and Debian's mirror (it downloads a base system); not part
# of the README's test command (Tests/install-tests.sh checks the same package with dpkg --root).
#   bash Tests/clean-debian-install.sh [PACKAGE.deb]   (default: build it with scripts/make-deb.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "clean-debian-install.sh: needs root (debootstrap, chroot)" >&2; exit 1; }
command -v debootstrap > /dev/null || apt-get install -y -qq debootstrap > /dev/null
deb=${1:-}
if [ -z "$deb" ]; then
    bash scripts/make-deb.sh > /dev/null
    deb=$(ls -t .build/deb/rsynth_*_amd64.deb | head -1)
fi
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$(mktemp -d /tmp/rsynth-clean-debian.XXXXXX)
cleanup() {
    for m in proc dev/pts dev; do umount "$root/$m" 2> /dev/null || true; done
    rm -rf "$root" "$root.before" "$root.after" "$root.home-before" "$root.debootstrap.log"
}
trap cleanup EXIT
failures=0
check() {  # check DESCRIPTION COMMAND...: runs COMMAND, prints ok or FAIL
    local what=$1; shift
    if "$@"; then echo "ok    $what"; else echo "FAIL  $what"; failures=$((failures + 1)); fi
}

SECONDS=0
debootstrap --variant=minbase bookworm "$root" "$mirror" > "$root.debootstrap.log" 2>&1 \
    || { tail -20 "$root.debootstrap.log" >&2; exit 1; }
echo "      debootstrap took $SECONDS s"
mount -t proc proc "$root/proc"; mount --bind /dev "$root/dev"; mount --bind /dev/pts "$root/dev/pts"
cp "$deb" "$root/tmp/"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive "$@"; }

check "the clean root has no rsynth and no Swift" bash -c "! chroot '$root' sh -c 'command -v rsynth || command -v swift || ls /usr/lib/rsynth' > /dev/null 2>&1"
# Every path of the root but the changing ones (/proc, /tmp, /var: apt's lists and logs) and the
# home folder, where running rsynth leaves the user's own cache (~/.cache/rsynth), not the package's.
files() { in_root sh -c 'find / -xdev \( -path /proc -o -path /tmp -o -path /var -o -path /root \) -prune -o -print | sort'; }
files > "$root.before"
in_root find /root | sort > "$root.home-before"
SECONDS=0
check "apt-get install ./$(basename "$deb") (its Depends from Debian)" \
    in_root sh -c "apt-get update -qq && apt-get install -y -qq /tmp/$(basename "$deb") > /tmp/apt.log 2>&1 || { tail -20 /tmp/apt.log; exit 1; }"
echo "      apt-get install took $SECONDS s"
expected=$(bash scripts/plugin-names.sh | wc -l)
check "rsynth --version" in_root sh -c 'cd /tmp && rsynth --version | grep -q "^rsynth "'
# `rsynth plugins`: a header and a row per plugin; a library that failed to load adds lines.
check "rsynth plugins from /tmp: all $expected plugins, nothing else" \
    in_root sh -c "cd /tmp && rsynth plugins > plugins.txt 2>&1 && [ \$(wc -l < plugins.txt) -eq $((expected + 1)) ] || { cat plugins.txt; exit 1; }"
check "the installed quickstart spec runs from /tmp" \
    in_root sh -c 'cd /tmp && rsynth run /usr/share/rsynth/examples/quickstart.yaml --out /tmp/qs --quiet > /dev/null && [ -f /tmp/qs/manifest.json ] && [ -f /tmp/qs/index.html ]'
check "bash completion and the man page are installed" \
    in_root sh -c '[ -f /usr/share/bash-completion/completions/rsynth ] && [ -f /usr/share/man/man1/rsynth.1* ]'
check "apt-get remove --purge rsynth" in_root sh -c 'apt-get remove --purge -y -qq rsynth > /dev/null 2>&1'
check "the only thing running rsynth left in the home folder is its cache, ~/.cache/rsynth" \
    bash -c "[ \"\$(chroot '$root' find /root | sort | comm -13 '$root.home-before' - | tr '\n' ' ')\" = '/root/.cache /root/.cache/rsynth /root/.cache/rsynth/plugin-scan-v1.json ' ]"
check "no file of the package is left" in_root sh -c '! ls /usr/bin/rsynth /usr/lib/rsynth /usr/share/rsynth > /dev/null 2>&1'
rm -rf "$root/tmp/qs" "$root/tmp/plugins.txt"
# apt-get install also brought the dependencies (libdnnl2, ...); `apt-get autoremove` removes them.
in_root sh -c 'apt-get autoremove --purge -y -qq > /dev/null 2>&1'
files > "$root.after"
check "after autoremove, the root's files are exactly those before the install" diff "$root.before" "$root.after"
[ "$failures" = 0 ] && echo "all checks passed" || { echo "$failures check(s) failed"; exit 1; }
