#!/usr/bin/env bash
# The install tests (issue 13), run by Tests/run-tests.sh after the Swift tests:
#   bash Tests/install-tests.sh [install] [deb]     (both without arguments)
# install: scripts/install.sh into a temporary prefix; from outside the repository, rsynth
#   --version, `rsynth plugins` (every plugin of Package.swift, from the prefix), the installed
#   quickstart spec, the completion scripts (bash, zsh and fish completion run for subcommands,
#   options and plugin names; zsh and fish in a pseudo-terminal, Tests/shell-complete.py), `man -l` and `man rsynth` through MANPATH; then --uninstall leaves exactly what was
#   there before.
# deb: scripts/make-deb.sh --fast, the package installed into a throwaway root (dpkg --root, as root;
#   else dpkg-deb -x), run there with `env -i PATH=/usr/bin:/bin` and its RUNPATH and ldd checked
#   to use only the bundled Swift runtime, then removed (dpkg -r) leaving nothing.
# Needs what Examples/install-dependencies.sh --tests installs (man-db, patchelf, dpkg-dev, zsh, fish,
# python3).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
want_install=false want_deb=false
[ $# -eq 0 ] && set -- install deb
for a in "$@"; do
    case "$a" in
        install) want_install=true ;;
        deb) want_deb=true ;;
        *) echo "install-tests.sh: unknown test '$a' (install, deb)" >&2; exit 2 ;;
    esac
done

failures=0
subcommands=()
check() {   # check DESCRIPTION COMMAND...: runs the command, reports, counts a failure
    local what="$1"; shift
    if "$@"; then echo "ok    $what"; else echo "FAIL  $what" >&2; failures=$((failures + 1)); fi
}
equal() {   # equal EXPECTED ACTUAL
    [ "$1" = "$2" ] && return 0
    printf '  expected: %s\n  actual:   %s\n' "$1" "$2" >&2
    return 1
}
contains() { grep -qF -- "$2" "$1" || { echo "  '$2' not in $1" >&2; return 1; }; }

# The expected values, from the sources.
mapfile -t plugin_names < <(bash scripts/plugin-names.sh Package.swift)
plugin_count=${#plugin_names[@]}
version="$(sed -n 's/^public let rsynthVersion = "\(.*\)"$/\1/p' Sources/RobustSynthHost/Version.swift)"
header=Sources/SynthPluginABI/include/synth_plugin.h
abi="$(sed -n 's/^#define SYNTH_PLUGIN_ABI_VERSION \([0-9]*\)u$/\1/p' $header)"
min_abi="$(sed -n 's/^#define SYNTH_PLUGIN_ABI_MIN_VERSION \([0-9]*\)u$/\1/p' $header)"
expected_version="rsynth $version
plugin ABI $abi (loads plugins built for ABI $min_abi to $abi)"
[ "$plugin_count" -gt 0 ] && [ -n "$version" ] && [ -n "$abi" ] && [ -n "$min_abi" ] \
    || { echo "install-tests.sh: cannot read the expected values from the sources" >&2; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/rsynth-install-tests.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export RSYNTH_CACHE_DIR="$tmp/cache"
unset RSYNTH_PLUGIN_PATH

# plugins_json FILE DIR: `rsynth plugins --json` output FILE lists every plugin of Package.swift,
# each from DIR, and no failure.
plugins_json() {
    python3 - "$1" "$2" "${plugin_names[@]}" <<'EOF'
import json, sys
out, folder, names = sys.argv[1], sys.argv[2], sys.argv[3:]
d = json.load(open(out))
libs = sorted(p["library"] for p in d["plugins"])
want = sorted(f"{folder}/libRSynth{n}.so" for n in names)
if libs != want or d["failures"]:
    print(f"  plugins: {libs}\n  wanted:  {want}\n  failures: {d['failures']}", file=sys.stderr)
    sys.exit(1)
EOF
}
# quickstart OUT SPEC RSYNTH...: runs the spec into OUT: all 80 samples, the manifest naming the version.
quickstart() {
    local out="$1" spec="$2"; shift 2
    "$@" run "$spec" --out "$out" > "$out.log" 2>&1 || { cat "$out.log" >&2; return 1; }
    contains "$out.log" "80 samples run, 0 already done, 80 of 80 in $out" && [ -s "$out/grid.png" ] \
        && python3 -c "import json,sys; sys.exit(json.load(open('$out/manifest.json'))['rsynth_version'] != '$version')"
}
# studio_examples RSYNTH EXAMPLES: `rsynth studio` offers the quickstart with its model under EXAMPLES.
studio_examples() {
    "$1" studio --runs "$tmp/studio-runs" --port 0 > "$tmp/studio.out" 2>&1 &
    local pid=$! url="" ok=1
    for _ in $(seq 100); do url="$(grep -o 'http://127.0.0.1:[0-9]*/' "$tmp/studio.out" | head -1)"; [ -n "$url" ] && break; sleep 0.1; done
    [ -n "$url" ] && python3 - "$url" "$2" <<'EOF' && ok=0
import json, sys, urllib.request
url, examples = sys.argv[1], sys.argv[2]
offered = json.load(urllib.request.urlopen(url + "api/examples"))["examples"]
quick = [e for e in offered if e["name"] == "quickstart"]
weights = quick[0]["spec"]["classifier"]["with"]["weights"] if quick else None
if weights != examples + "/digits/models/digits-robust.pt":
    print(f"  quickstart's weights: {weights}", file=sys.stderr)
    sys.exit(1)
EOF
    kill "$pid"; wait "$pid" 2>/dev/null
    [ "$ok" = 0 ] || { cat "$tmp/studio.out" >&2; return 1; }
}
manpage_renders() {   # manpage_renders PAGE: renders with no troff warning, names every subcommand
    MANWIDTH=100 man -l "$1" > "$tmp/man.txt" 2> "$tmp/man.err" && [ ! -s "$tmp/man.err" ] \
        && contains "$tmp/man.txt" "rsynth — Image synthesis with a single robust classifier" \
        && for s in "${subcommands[@]}"; do contains "$tmp/man.txt" "     $s" || return 1; done \
        && ! grep -q __scan "$tmp/man.txt" || { cat "$tmp/man.err" >&2; return 1; }
}

if $want_install; then
    echo "== install into a temporary prefix"
    prefix="$tmp/prefix"
    mkdir -p "$prefix/share" && echo "not rsynth's" > "$prefix/share/keep-me"
    start=$SECONDS
    bash scripts/install.sh --prefix "$prefix" > "$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; exit 1; }
    echo "      install.sh took $((SECONDS - start)) s (release build included)"
    mkdir -p "$tmp/elsewhere" && cd "$tmp/elsewhere"
    rs="$prefix/bin/rsynth"
    check "rsynth --version: version and plugin ABI" equal "$expected_version" "$("$rs" --version)"
    "$rs" plugins --json > "$tmp/plugins.json"
    check "rsynth plugins from $tmp/elsewhere: all $plugin_count plugins, from the prefix" \
        plugins_json "$tmp/plugins.json" "$prefix/lib/rsynth/plugins"
    check "rsynth plugins (table): $plugin_count rows" equal "$((plugin_count + 1))" "$("$rs" plugins | wc -l)"
    ln -s "$rs" "$tmp/elsewhere/rs-link"
    ./rs-link plugins --json > "$tmp/plugins-link.json"
    check "through a symbolic link too" plugins_json "$tmp/plugins-link.json" "$prefix/lib/rsynth/plugins"
    PATH="$prefix/bin:$PATH" rsynth plugins --json > "$tmp/plugins-path.json"
    check "and found on PATH" plugins_json "$tmp/plugins-path.json" "$prefix/lib/rsynth/plugins"
    check "the installed quickstart spec runs from another folder" \
        quickstart "$tmp/elsewhere/quickstart" "$prefix/share/rsynth/examples/quickstart.yaml" "$rs"
    check "the schema is installed where the examples' \$schema points" \
        test -f "$prefix/share/rsynth/examples/../Schemas/pipeline.schema.json"
    check "no pictures of the README (Examples/results) installed" test ! -e "$prefix/share/rsynth/examples/results"
    check "the installed studio's new-run form starts from the installed examples" studio_examples "$rs" "$prefix/share/rsynth/examples"

    mapfile -t subcommands < <("$rs" --help | sed -n '/^SUBCOMMANDS:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' | grep -v '^help$')
    # RSynth.swift's subcommands, less the hidden __scan-plugins.
    check "--help lists the subcommands of RSynth.swift" equal "$(($(grep -c '^ *[A-Za-z]*Command.self,$' "$repo/Sources/rsynth/RSynth.swift") - 1))" "${#subcommands[@]}"
    bash_c="$prefix/share/bash-completion/completions/rsynth"
    zsh_c="$prefix/share/zsh/site-functions/_rsynth"
    fish_c="$prefix/share/fish/vendor_completions.d/rsynth.fish"
    for f in "$bash_c" "$zsh_c" "$fish_c"; do
        check "$(basename "$f") names every subcommand and completes --classifier by calling rsynth" \
            bash -c 'f=$1; shift; for s in "$@" "---completion classify -- --classifier"; do grep -qF -- "$s" "$f" || { echo "  $s not in $f" >&2; exit 1; }; done' _ "$f" "${subcommands[@]}"
    done
    # Bash completion, as bash runs it on TAB: COMP_* set, _rsynth CMD CUR PREV.
    complete_line() {
        PATH="$prefix/bin:$PATH" bash -c '
            source "$1"
            COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< "$COMP_LINE"
            [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
            COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
            _rsynth rsynth "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$bash_c" "$1"
    }
    classifiers="$(python3 -c "import json; print(' '.join(sorted(p['name'] for p in json.load(open('$tmp/plugins.json'))['plugins'] if p['kind'] == 'classifier')) + ' ')")"
    all_plugins="$(python3 -c "import json; print(' '.join(sorted(p['name'] for p in json.load(open('$tmp/plugins.json'))['plugins'])) + ' ')")"
    check "bash: rsynth <TAB> gives the subcommands" \
        equal "$(printf '%s\n' "${subcommands[@]}" help -h --help --version | sort | tr '\n' ' ')" "$(complete_line "rsynth ")"
    check "bash: rsynth classify --classifier <TAB> gives the 5 classifier plugins" \
        equal "digits-resnet linear pytorch resnet50 robust-resnet50 " "$(complete_line "rsynth classify --classifier ")"
    check "bash: ... and they are exactly the classifiers rsynth plugins lists" equal "$classifiers" "$(complete_line "rsynth bench --classifier ")"
    check "bash: rsynth plugins describe l<TAB>" equal "l2-ball linear linf-ball " "$(complete_line "rsynth plugins describe l")"
    check "bash: rsynth plugins describe <TAB> gives all $plugin_count plugins" equal "$all_plugins" "$(complete_line "rsynth plugins describe ")"
    # zsh and fish, each run interactively in a pseudo-terminal with the installed script loaded.
    # run's options, as its --help lists them (an option's line starts with it).
    run_options="$("$rs" run --help | sed -n '/^OPTIONS:/,$p' | sed -n 's/^  \(-[a-z], \)\{0,1\}\(--[a-z][a-z-]*\).*/\2/p' | sort | tr '\n' ' ')"
    check "run --help lists its options (at least --out, --shard and --help)" \
        bash -c '[[ "$1" == *"--out "* && "$1" == *"--shard "* && "$1" == *"--help "* ]]' _ "$run_options"
    for sh in zsh fish; do
        script=$zsh_c; [ "$sh" = fish ] && script=$fish_c
        tab() { PATH="$prefix/bin:$PATH" python3 "$repo/Tests/shell-complete.py" "$sh" "$script" "$1" | tr '\n' ' '; }
        check "$sh: rsynth <TAB> gives the subcommands" \
            equal "$(printf '%s\n' "${subcommands[@]}" help | sort | tr '\n' ' ')" "$(tab "rsynth ")"
        check "$sh: rsynth classify --classifier <TAB> gives the classifiers rsynth plugins lists" equal "$classifiers" "$(tab "rsynth classify --classifier ")"
        check "$sh: rsynth plugins describe l<TAB>" equal "l2-ball linear linf-ball " "$(tab "rsynth plugins describe l")"
        check "$sh: rsynth plugins describe <TAB> gives all $plugin_count plugins" equal "$all_plugins" "$(tab "rsynth plugins describe ")"
        check "$sh: rsynth run --<TAB> gives run's options" equal "$run_options" "$(tab "rsynth run --")"
    done

    man1="$prefix/share/man/man1/rsynth.1"
    check "man -l renders rsynth(1) with every subcommand, no warnings" manpage_renders "$man1"
    check "man rsynth finds the installed page (MANPATH=PREFIX/share/man)" equal "$man1" "$(MANPATH="$prefix/share/man" man -w rsynth)"

    cd "$repo"
    files=$(grep -c '^file ' "$prefix/share/rsynth/install-manifest.txt")
    bash scripts/install.sh --uninstall --prefix "$prefix" > "$tmp/uninstall.log" 2>&1 || { cat "$tmp/uninstall.log" >&2; exit 1; }
    check "uninstall removed the $files files and the folders it made; the file that was there stays" \
        equal "$prefix/share $prefix/share/keep-me" "$(find "$prefix" -mindepth 1 | sort | tr '\n' ' ' | sed 's/ $//')"
    check "  and that file is untouched" equal "not rsynth's" "$(cat "$prefix/share/keep-me")"
fi

if $want_deb; then
    echo "== Debian package into a throwaway root"
    start=$SECONDS
    deb="$(bash scripts/make-deb.sh --fast --out "$tmp/deb" 2> "$tmp/make-deb.log")" || { cat "$tmp/make-deb.log" >&2; exit 1; }
    echo "      make-deb.sh took $((SECONDS - start)) s"
    check "the package is named rsynth_${version}_$(dpkg --print-architecture).deb" \
        equal "$tmp/deb/rsynth_${version}_$(dpkg --print-architecture).deb" "$deb"
    depends="$(dpkg-deb -f "$deb" Depends)"
    for p in libc6 libdnnl2 libpng16-16 libjpeg62-turbo libffi8 libstdc++6; do
        check "Depends names $p" bash -c 'tr , "\n" <<< "$1" | sed "s/^ *//; s/ .*//" | grep -qxF "$2"' _ "$depends" "$p"
    done
    check "Depends names no Swift package (the runtime is bundled)" bash -c "! grep -qi swift <<< '$depends'"
    check "version $version in the control file" equal "$version" "$(dpkg-deb -f "$deb" Version)"
    root="$tmp/root"
    if [ "$(id -u)" -eq 0 ]; then
        mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
        touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
        dpkg --root="$root" --log=/dev/null --force-depends --path-include='/usr/share/man/*' -i "$deb" > "$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; exit 1; }
        check "dpkg --root installed it" equal "install ok installed" "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status}' rsynth)"
    else
        echo "      (not root: dpkg-deb -x instead of dpkg --root)"
        dpkg-deb -x "$deb" "$root"
    fi
    rs="$root/usr/bin/rsynth"
    check "RUNPATH of rsynth is \$ORIGIN/../lib/rsynth only" \
        equal '[$ORIGIN/../lib/rsynth]' "$(readelf -d "$rs" | sed -n 's/.*(RUNPATH).*: //p')"
    check "RUNPATH of every plugin is \$ORIGIN/.. only" \
        equal "$plugin_count" "$(for f in "$root"/usr/lib/rsynth/plugins/*.so; do readelf -d "$f" | sed -n 's/.*(RUNPATH).*: //p'; done | grep -cxF '[$ORIGIN/..]')"
    ldd_all() { for f in "$rs" "$root"/usr/lib/rsynth/plugins/*.so; do env -i PATH=/usr/bin:/bin ldd "$f"; done; }
    swift_lib_dir="$(dirname "$(ldd "$repo/.build/release/rsynth" | awk '$1 == "libswiftCore.so" { print $3 }')")"
    check "ldd: nothing from the toolchain ($swift_lib_dir), nothing missing" \
        bash -c '! grep -e "$1" -e "not found" <<< "$2"' _ "$swift_lib_dir" "$(ldd_all)"
    swift_from_bundle() {   # every Swift runtime library ldd resolves is one of the bundled ones
        local name arrow path rest n=0
        while read -r name arrow path rest; do
            case "$name" in libswift*|libFoundation*|lib_Foundation*|libdispatch*|libBlocksRuntime*) ;; *) continue ;; esac
            [ "$(realpath "$path")" = "$(realpath "$root")/usr/lib/rsynth/$name" ] || { echo "  $name => $path" >&2; return 1; }
            n=$((n + 1))
        done < <(ldd_all)
        [ $n -gt 0 ]
    }
    check "ldd: every Swift library from $root/usr/lib/rsynth" swift_from_bundle
    check "no swift on PATH=/usr/bin:/bin" bash -c '! env -i PATH=/usr/bin:/bin bash -c "command -v swift"'
    mkdir -p "$tmp/debwork" && cd "$tmp/debwork"
    debenv=(env -i PATH=/usr/bin:/bin HOME="$tmp/debwork" RSYNTH_CACHE_DIR="$tmp/debcache")
    check "--version from the package" equal "$expected_version" "$("${debenv[@]}" "$rs" --version)"
    "${debenv[@]}" "$rs" plugins --json > "$tmp/deb-plugins.json" 2> "$tmp/deb-plugins.err" || cat "$tmp/deb-plugins.err" >&2
    check "env -i PATH=/usr/bin:/bin ROOT/usr/bin/rsynth plugins: all $plugin_count plugins" \
        plugins_json "$tmp/deb-plugins.json" "$root/usr/lib/rsynth/plugins"
    check "the package's quickstart spec runs" \
        quickstart "$tmp/debwork/quickstart" "$root/usr/share/rsynth/examples/quickstart.yaml" "${debenv[@]}" "$rs"
    [ ${#subcommands[@]} -gt 0 ] || mapfile -t subcommands < <("$rs" --help | sed -n '/^SUBCOMMANDS:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' | grep -v '^help$')
    check "the package's man page renders" manpage_renders "$root/usr/share/man/man1/rsynth.1"
    check "the package's completions are in place" test -s "$root/usr/share/bash-completion/completions/rsynth" -a -s "$root/usr/share/zsh/site-functions/_rsynth" -a -s "$root/usr/share/fish/vendor_completions.d/rsynth.fish"
    check "no install manifest in the package (dpkg keeps the list)" test ! -e "$root/usr/share/rsynth/install-manifest.txt"
    cd "$repo"
    if [ "$(id -u)" -eq 0 ]; then
        dpkg --root="$root" --log=/dev/null -r rsynth > "$tmp/dpkg-r.log" 2>&1 || { cat "$tmp/dpkg-r.log" >&2; exit 1; }
        check "dpkg -r removed everything it installed" equal "" "$(find "$root" -mindepth 1 -path "$root/var" -prune -o -print)"
    fi
fi

if [ $failures -gt 0 ]; then
    echo "install-tests.sh: $failures check(s) failed" >&2
    exit 1
fi
echo "install-tests.sh: all checks passed"
