#!/usr/bin/env bash
# Builds the Debian package of rsynth: bash scripts/make-deb.sh [--out DIR] [--no-build] [--fast]
#   -> DIR/rsynth_<version>_<arch>.deb (default DIR: .build/deb; not committed)
#   --fast: gzip -1 instead of gzip -9 (a bigger file, quicker; the tests use it)
#
# The package is the install tree of scripts/install.sh with prefix /usr, staged with --destdir,
# with the Swift runtime bundled in /usr/lib/rsynth/ (Debian has no Swift runtime package) and
# the RUNPATH of rsynth, its plugins and those libraries pointing there only ($ORIGIN-relative),
# so it runs on a machine without the Swift toolchain. Depends: the Debian packages of the other
# libraries they link, from dpkg-shlibdeps (libc6, libdnnl2, libpng16-16, libjpeg62-turbo,
# libffi8, libstdc++6, libgcc-s1 on Debian 12).
#   sudo apt-get install ./.build/deb/rsynth_<version>_amd64.deb     install
#   sudo apt-get remove rsynth                                      remove (everything it installed)
# Needs dpkg-deb, dpkg-shlibdeps (dpkg-dev) and patchelf; installs patchelf and dpkg-dev with apt
# where they are missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build/deb"
build_flag=()
level=9
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="${2:?--out needs a folder}"; shift 2 ;;
        --out=*) out="${1#--out=}"; shift ;;
        --no-build) build_flag=(--no-build); shift ;;
        --fast) level=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "make-deb.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

bash "$root/Examples/install-dependencies.sh" --packaging   # patchelf, dpkg-shlibdeps

mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d "$out/.stage.XXXXXX")"
trap 'rm -rf "$work"' EXIT
stage="$work/rsynth"
bash "$root/scripts/install.sh" --prefix /usr --destdir "$stage" --bundle-runtime "${build_flag[@]}" >&2

version="$(sed -n 's/^public let rsynthVersion = "\(.*\)"$/\1/p' "$root/Sources/RobustSynthHost/Version.swift")"
built="$(env -i PATH=/usr/bin:/bin "$stage/usr/bin/rsynth" --version | head -1 | awk '{ print $2 }')"
[ -n "$version" ] && [ "$version" = "$built" ] \
    || { echo "make-deb.sh: version '$version' in Version.swift but the staged rsynth says '$built'" >&2; exit 1; }
arch="$(dpkg --print-architecture)"

# Depends: dpkg-shlibdeps over every ELF file, the bundled runtime as the package's own libraries
# (DEBIAN/ marks the package's root for it, to resolve $ORIGIN).
mkdir -p "$work/debian" "$stage/DEBIAN"
printf 'Source: rsynth\n\nPackage: rsynth\nArchitecture: any\n' > "$work/debian/control"
mapfile -t elves < <(find "$stage" -type f \( -name '*.so' -o -path '*/usr/bin/*' \) | sort)
depends="$(cd "$work" && dpkg-shlibdeps -O -l"$stage/usr/lib/rsynth" -e "${elves[@]}" 2>"$work/shlibdeps.log" \
           | sed -n 's/^shlibs:Depends=//p')" \
    || { cat "$work/shlibdeps.log" >&2; exit 1; }
# What it warns about is expected here: staged, not installed, files, and the Swift runtime's own
# links (libswift_Concurrency.so on libswift_Builtin_float.so) and unversioned names.
grep -v "binaries to analyze should already be installed\|could avoid a useless dependency\|can.t extract name and version from library name" "$work/shlibdeps.log" >&2 || true
[ -n "$depends" ] || { echo "make-deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
rm -rf "$work/debian"

cat > "$stage/DEBIAN/control" <<EOF
Package: rsynth
Version: $version
Architecture: $arch
Maintainer: RobustSynth developers <rsynth@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $depends
Section: science
Priority: optional
Description: image synthesis with a single robust classifier
 rsynth synthesises images by projected gradient descent on the input of an
 adversarially robust classifier (Santurkar et al., NeurIPS 2019): class-
 conditional generation, inpainting, super-resolution, image-to-image
 translation and more, composed from plugins by a YAML pipeline spec.
 .
 This package holds the rsynth command, its plugins (/usr/lib/rsynth/plugins),
 the Swift runtime libraries they need (/usr/lib/rsynth), the pipeline JSON
 Schema, the examples with the two shipped digit models
 (/usr/share/rsynth/examples), shell completions and the rsynth(1) manual.
EOF
deb="$out/rsynth_${version}_${arch}.deb"
# gzip: a third of xz's time on a 2-core machine (44 MB against 26 MB).
dpkg-deb --root-owner-group -Zgzip -z$level --build "$stage" "$deb" >&2
echo "$deb"
