#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/Package.swift (AddressSanitizer + libFuzzer, the C codec
# wrapper and libyaml instrumented too), replays the committed corpus and the reproducers of past
# crashes, then fuzzes each target for a bounded time. Exit 1 on any crash, sanitizer report, leak,
# timeout (-timeout=10 s per input) or input over -rss_limit_mb=1024.
#
#   bash Fuzz/run.sh [SECONDS_PER_TARGET]   default 60; 0 = build and replay only
#   FUZZ_TARGETS="FuzzPNG FuzzSpec" bash Fuzz/run.sh 300    only these targets
#   bash Fuzz/run.sh --merge                merge the seeds of Fuzz/make_corpus.py and whatever
#                                           the last runs found into Fuzz/corpus/ (-merge=1)
#
# New inputs found while fuzzing go to .build-fuzz/work/<target>/ (never into the repository);
# a crashing input to .build-fuzz/artifacts/<target>-crash-*; logs to .build-fuzz/logs/.
# A table of the runs (executions, time, result) is written to .build-fuzz/summary.md (or $FUZZ_SUMMARY).
set -euo pipefail
cd "$(dirname "$0")/.."

scratch=.build-fuzz
all_targets=(FuzzCheckpoint FuzzPNG FuzzJPEG FuzzSeedModel FuzzSpec)
read -r -a targets <<< "${FUZZ_TARGETS:-${all_targets[*]}}"
mode=fuzz seconds=60
case "${1:-}" in
    --merge) mode=merge ;;
    "") ;;
    *) [[ "$1" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS_PER_TARGET | --merge]" >&2; exit 2; }; seconds=$1 ;;
esac

echo "== building the fuzz targets (swift build -c debug, -sanitize=fuzzer,address) into $scratch" >&2
# ld.gold warns once per ASan helper symbol ("Cannot export local symbol"); keep the rest.
swift build -c debug --package-path Fuzz --scratch-path "$scratch" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
    -Xcc -fsanitize=fuzzer-no-link,address 2>&1 | grep -v "Cannot export local symbol" >&2
bin=$(swift build -c debug --package-path Fuzz --scratch-path "$scratch" --show-bin-path)
mkdir -p "$scratch/logs" "$scratch/artifacts" "$scratch/work"
summary=${FUZZ_SUMMARY:-$scratch/summary.md}
limits=(-rss_limit_mb=1024 -timeout=10 -malloc_limit_mb=1024)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"

if [ "$mode" = merge ]; then
    python3 Fuzz/make_corpus.py "$scratch/seeds" >&2
    for t in "${targets[@]}"; do
        mkdir -p "Fuzz/corpus/$t" "$scratch/work/$t"
        "$bin/$t" -merge=1 "${limits[@]}" "Fuzz/corpus/$t" "$scratch/seeds/$t" "$scratch/work/$t" \
            > "$scratch/logs/$t-merge.log" 2>&1 || { echo "$t: merge failed, see $scratch/logs/$t-merge.log" >&2; exit 1; }
        echo "$t: $(ls "Fuzz/corpus/$t" | wc -l) inputs, $(du -sk "Fuzz/corpus/$t" | cut -f1) KB in Fuzz/corpus/$t" >&2
    done
    exit 0
fi

machine=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
failed=()
{
    echo "| target | executions | time (s) | command | machine | result |"
    echo "|---|---:|---:|---|---|---|"
} > "$summary"
for t in "${targets[@]}"; do
    log="$scratch/logs/$t.log"
    # 1. Regression: every committed input once (the corpus and the reproducers).
    replay=("Fuzz/corpus/$t")
    [ -d "Fuzz/reproducers/$t" ] && replay+=("Fuzz/reproducers/$t")
    if ! "$bin/$t" -runs=0 "${limits[@]}" -artifact_prefix="$scratch/artifacts/$t-" "${replay[@]}" > "$scratch/logs/$t-replay.log" 2>&1; then
        echo "FAIL $t: replaying ${replay[*]}" >&2
        grep -E "ERROR|SUMMARY|Test unit written|Fatal error|Running:" "$scratch/logs/$t-replay.log" | tail -20 >&2 || true
        failed+=("$t (replay)")
        echo "| $t | - | - | replay of ${replay[*]} | $machine | **FAILED** (replay) |" >> "$summary"
        continue
    fi
    echo "ok   $t: replayed $(find "${replay[@]}" -type f | wc -l) committed inputs" >&2
    [ "$seconds" -gt 0 ] || continue
    # 2. Fuzzing, from a copy of the corpus plus what earlier runs found.
    mkdir -p "$scratch/work/$t"
    cp -n "Fuzz/corpus/$t"/* "$scratch/work/$t"/ 2>/dev/null || true
    cmd=("$bin/$t" -max_total_time="$seconds" "${limits[@]}" -print_final_stats=1
         -artifact_prefix="$scratch/artifacts/$t-" "$scratch/work/$t")
    start=$(date +%s)
    if "${cmd[@]}" > "$log" 2>&1; then result=ok; else result="**FAILED** (exit $?)"; failed+=("$t"); fi
    elapsed=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    shown="Fuzz/run.sh $seconds: $t -max_total_time=$seconds ${limits[*]} -print_final_stats=1 <corpus>"
    echo "| $t | ${execs:--} | $elapsed | \`$shown\` | $machine | $result |" >> "$summary"
    if [ "$result" = ok ]; then
        echo "ok   $t: ${execs:-?} executions in ${elapsed}s" >&2
    else
        echo "FAIL $t after ${elapsed}s (log: $log):" >&2
        grep -E "ERROR|SUMMARY|Test unit written|Fatal error|leak|timeout|out-of-memory" "$log" | tail -20 >&2 || true
    fi
done
cat "$summary" >&2
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing FAILED: ${failed[*]}; reproducers in $scratch/artifacts/" >&2
    exit 1
fi
echo "fuzzing: all ${#targets[@]} targets ok" >&2
