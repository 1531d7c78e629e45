#!/usr/bin/env bash
# Installs rsynth into a prefix, or removes exactly what an install put there.
#
#   bash scripts/install.sh [--prefix DIR]               build (release) and install; default /usr/local
#   bash scripts/install.sh --uninstall [--prefix DIR]   remove what the install recorded
#
# Layout under the prefix:
#   bin/rsynth
#   lib/rsynth/plugins/libRSynth*.so          (rsynth finds them from its own location)
#   lib/rsynth/*.so                           (only with --bundle-runtime: the Swift runtime)
#   share/rsynth/Schemas/pipeline.schema.json
#   share/rsynth/examples/                    (specs, the digit models and data: quickstart.yaml ...)
#   share/bash-completion/completions/rsynth, share/zsh/site-functions/_rsynth,
#   share/fish/vendor_completions.d/rsynth.fish
#   share/man/man1/rsynth.1
#   share/rsynth/install-manifest.txt         every file and every folder the install created
#
# Options:
#   --prefix DIR        where to install (default /usr/local; e.g. ~/.local for one user)
#   --uninstall         remove the files listed in PREFIX/share/rsynth/install-manifest.txt, then
#                       the folders the install created, where they are empty; nothing else
#   --bundle-runtime    copy the Swift runtime libraries rsynth and its plugins link into
#                       lib/rsynth/ and point their RUNPATH there (needs patchelf), so the install
#                       works without the Swift toolchain; without it the toolchain must stay
#   --destdir DIR       stage the tree under DIR (DIR/PREFIX/...) for a package, with no manifest:
#                       the package manager keeps the list (scripts/make-deb.sh uses this)
#   --no-build          install what `swift build -c release` built last, without building
# Installing over an earlier install first removes what that one recorded.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
prefix=/usr/local
destdir=""
uninstall=false
bundle=false
build=true
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="${2:?--prefix needs a folder}"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        --destdir) destdir="${2:?--destdir needs a folder}"; shift 2 ;;
        --destdir=*) destdir="${1#--destdir=}"; shift ;;
        --uninstall) uninstall=true; shift ;;
        --bundle-runtime) bundle=true; shift ;;
        --no-build) build=false; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case "$prefix" in /*) ;; *) prefix="$PWD/$prefix" ;; esac
prefix="${prefix%/}"
[ -n "$prefix" ] || { echo "install.sh: the prefix must not be /" >&2; exit 2; }
if [ -n "$destdir" ]; then
    mkdir -p "$destdir"
    destdir="$(cd "$destdir" && pwd)"
fi
top="$destdir$prefix"                       # where files go
manifest_rel="share/rsynth/install-manifest.txt"
manifest="$top/$manifest_rel"

# Removes what $manifest lists: lines "file REL" and "dir REL" (REL relative to the prefix), files
# first, then the folders, deepest first, each only if empty.
uninstall_from_manifest() {
    local kind rel kept=() dirs
    [ -f "$manifest" ] || { echo "install.sh: no install found under $prefix (no $manifest_rel)" >&2; return 1; }
    dirs="$(awk '$1 == "dir" { print substr($0, 5) }' "$manifest" | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-)"
    while IFS=' ' read -r kind rel; do
        [ "$kind" = file ] && [ "$rel" != "$manifest_rel" ] || continue
        if [ -f "$top/$rel" ] || [ -L "$top/$rel" ]; then rm -f "$top/$rel"; fi
    done < "$manifest"
    rm -f "$manifest"
    while IFS= read -r rel; do
        [ -n "$rel" ] || continue
        local d="$top${rel:+/$rel}"
        [ "$rel" = . ] && d="$top"
        if [ -d "$d" ] && ! rmdir "$d" 2>/dev/null; then kept+=("$d"); fi
    done <<< "$dirs"
    if [ ${#kept[@]} -gt 0 ]; then
        echo "Kept (they hold files the install did not put there):" >&2
        printf '  %s\n' "${kept[@]}" >&2
    fi
    echo "Removed rsynth from $prefix"
}

if $uninstall; then
    uninstall_from_manifest
    exit 0
fi

command -v swift >/dev/null || { echo "install.sh: needs the Swift toolchain (swift) to build" >&2; exit 1; }
cd "$root"
if $build; then
    echo "Building rsynth and its plugins (release)..." >&2
    start=$SECONDS
    swift build -c release >&2
    echo "Built in $((SECONDS - start)) s" >&2
fi
bin="$(swift build -c release --show-bin-path)"
[ -x "$bin/rsynth" ] || { echo "install.sh: $bin/rsynth is missing: build first (swift build -c release)" >&2; exit 1; }
version="$("$bin/rsynth" --version | head -1 | awk '{ print $2 }')"
# The plugins are Package.swift's plugin products, libRSynth<Name>.so (scripts/plugin-names.sh).
mapfile -t plugin_names < <(bash scripts/plugin-names.sh Package.swift)
[ ${#plugin_names[@]} -gt 0 ] || { echo "install.sh: found no plugins in Package.swift" >&2; exit 1; }
for n in "${plugin_names[@]}"; do
    [ -f "$bin/libRSynth$n.so" ] || { echo "install.sh: $bin/libRSynth$n.so is missing: build first" >&2; exit 1; }
done

# Over an earlier install: remove what it recorded first.
if [ -z "$destdir" ] && [ -f "$manifest" ]; then
    echo "Removing the earlier install under $prefix first" >&2
    uninstall_from_manifest >/dev/null
fi

entries=()
manifest_written=false
write_manifest() {
    [ -z "$destdir" ] && ! $manifest_written || return 0
    manifest_written=true
    make_dir share/rsynth
    entries+=("file $manifest_rel")
    {
        echo "# rsynth $version installed under $prefix by scripts/install.sh; \`bash scripts/install.sh --uninstall --prefix $prefix\` removes these."
        printf '%s\n' "${entries[@]}"
    } > "$manifest"
}
# An install that fails half-way still records what it put there, for --uninstall.
trap 'status=$?; if [ $status -ne 0 ] && [ ${#entries[@]} -gt 0 ] && [ -z "$destdir" ] && ! $manifest_written; then
          write_manifest; echo "install.sh: failed; bash scripts/install.sh --uninstall --prefix $prefix removes what it installed" >&2; fi' EXIT
# mkdir -p that records each folder it creates (relative to the prefix; "." is the prefix).
make_dir() {
    local rel="$1" path="$top" part
    if [ ! -d "$top" ]; then
        mkdir -p "$top"
        entries+=("dir .")
    fi
    local acc=""
    IFS=/ read -ra parts <<< "$rel"
    for part in "${parts[@]}"; do
        [ -n "$part" ] || continue
        acc="${acc:+$acc/}$part"
        path="$top/$acc"
        if [ ! -d "$path" ]; then
            mkdir "$path"
            entries+=("dir $acc")
        fi
    done
}
# put MODE SOURCE REL: installs one file.
put() {
    local mode="$1" src="$2" rel="$3"
    make_dir "$(dirname "$rel")"
    install -m "$mode" "$src" "$top/$rel"
    entries+=("file $rel")
}
# write MODE REL: installs standard input as one file (feed it with `< <(...)`, not a pipe: a
# pipe would run it in a subshell and lose the manifest entry).
write() {
    local mode="$1" rel="$2"
    make_dir "$(dirname "$rel")"
    cat > "$top/$rel"
    chmod "$mode" "$top/$rel"
    entries+=("file $rel")
}

put 755 "$bin/rsynth" bin/rsynth
for n in "${plugin_names[@]}"; do
    put 644 "$bin/libRSynth$n.so" "lib/rsynth/plugins/libRSynth$n.so"
done
for f in Schemas/*.json; do
    put 644 "$f" "share/rsynth/$f"
done
# Examples: what git tracks (nothing local or generated), without the pictures of the README
# (Examples/results) and the scripts that run from a checkout.
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -d '' -t examples < <(git -C "$root" ls-files -z Examples)
else
    mapfile -t examples < <(find Examples -type f ! -name '*.pyc' | sort)
fi
for f in "${examples[@]}"; do
    case "$f" in
        Examples/results/*|Examples/install-dependencies.sh|Examples/quickstart.sh) continue ;;
    esac
    [ -f "$f" ] || continue
    mode=644; [ -x "$f" ] && mode=755
    put "$mode" "$f" "share/rsynth/examples/${f#Examples/}"
done
write 644 share/bash-completion/completions/rsynth < <("$bin/rsynth" --generate-completion-script bash)
write 644 share/zsh/site-functions/_rsynth < <("$bin/rsynth" --generate-completion-script zsh)
write 644 share/fish/vendor_completions.d/rsynth.fish < <("$bin/rsynth" --generate-completion-script fish)
# rsynth(1), from the built rsynth's own help by swift-argument-parser's generate-manual plugin
# (dated by the last commit, so the same sources give the same page), without the internal
# subcommand that --help hides.
man_date="$(git -C "$root" log -1 --format=%cs 2>/dev/null || date +%F)"
swift package plugin generate-manual --configuration release --date "$man_date" >&2
man_page="$root/.build/plugins/GenerateManual/outputs/rsynth/rsynth.1"
[ -f "$man_page" ] || { echo "install.sh: generate-manual wrote no $man_page" >&2; exit 1; }
write 644 share/man/man1/rsynth.1 < <(awk '
    skip == 0 && $0 == ".It Em __scan-plugins" { skip = 1; depth = 0; next }
    skip == 1 { if ($1 == ".Bl") depth++; if ($1 == ".El") { depth--; if (depth == 0) skip = 2 }; next }
    { print }
' "$man_page")

if $bundle; then
    command -v patchelf >/dev/null || { echo "install.sh: --bundle-runtime needs patchelf (apt-get install patchelf)" >&2; exit 1; }
    # The Swift runtime: every library ldd resolves from the toolchain's folder of libswiftCore.so.
    swiftlib="$(ldd "$bin/rsynth" | awk '$1 == "libswiftCore.so" { print $3 }' | xargs dirname)"
    [ -d "$swiftlib" ] || { echo "install.sh: cannot find the Swift runtime rsynth links" >&2; exit 1; }
    elves=("$bin/rsynth")
    for n in "${plugin_names[@]}"; do elves+=("$bin/libRSynth$n.so"); done
    mapfile -t runtime < <(for f in "${elves[@]}"; do ldd "$f"; done \
                           | awk -v d="$swiftlib/" 'index($3, d) == 1 { print $3 }' | sort -u)
    for lib in "${runtime[@]}"; do
        put 644 "$lib" "lib/rsynth/$(basename "$lib")"
        patchelf --set-rpath '$ORIGIN' "$top/lib/rsynth/$(basename "$lib")"
    done
    patchelf --set-rpath '$ORIGIN/../lib/rsynth' "$top/bin/rsynth"
    for n in "${plugin_names[@]}"; do
        patchelf --set-rpath '$ORIGIN/..' "$top/lib/rsynth/plugins/libRSynth$n.so"
    done
fi

write_manifest
files=0
for e in "${entries[@]}"; do [ "${e%% *}" = file ] && files=$((files + 1)); done
echo "Installed rsynth $version under ${destdir:+$destdir}$prefix: $files files, ${#plugin_names[@]} plugins."
if [ -z "$destdir" ]; then
    case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "Add $prefix/bin to PATH to run rsynth." ;; esac
    echo "Try: rsynth plugins; rsynth run $prefix/share/rsynth/examples/quickstart.yaml --out /tmp/rsynth-quickstart"
fi
