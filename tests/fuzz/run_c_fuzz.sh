#!/usr/bin/env bash
# Fuzz the C parsers of /proc and cgroup text (csrc/procfs.c, csrc/cgroup.c) with
# libFuzzer under AddressSanitizer + UndefinedBehaviorSanitizer.
#
#   tests/fuzz/run_c_fuzz.sh [--seconds N] [TARGET ...]
#
# One fuzzer per parser (TARGETS below; default: all), each seeded from
# tests/fuzz/corpus/TARGET (real /proc files) and tests/fuzz/regressions/TARGET (inputs
# that once crashed a parser), run for N seconds (default 30). New inputs it finds go
# to a scratch corpus, not into the repository. A crash leaves its input under
# $DPROF_FUZZ_OUT (default: a temporary directory, printed) and the script exits 1:
# minimise it (the fuzzer binary with -minimize_crash=1), fix the parser, and add the
# input under tests/fuzz/regressions/TARGET, which the test suite replays
# (tests/reliability/input/test_input_c_parsers.py). Exits 0 with "skipped" when
# clang cannot build a libFuzzer binary (Debian: apt-get install libclang-rt-14-dev).
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGETS=(stat statm status io sysstat meminfo netdev cgroup keyed)   # index: DPROF_FUZZ_TARGET
seconds=30
chosen=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) chosen+=("$1"); shift ;;
    esac
done
[ ${#chosen[@]} -gt 0 ] || chosen=("${TARGETS[@]}")
OUT=${DPROF_FUZZ_OUT:-$(mktemp -d /tmp/dprof-fuzz.XXXXXX)}
mkdir -p "$OUT"
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

probe="$OUT/probe.c"
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return (int)(d == 0) + (int)n * 0; }' > "$probe"
if ! command -v clang >/dev/null || ! clang $SAN "$probe" -o "$OUT/probe" 2>/dev/null; then
    echo "C parser fuzzing skipped: clang with libFuzzer and ASan is not available"
    exit 0
fi

failed=0
for target in "${chosen[@]}"; do
    index=-1
    for i in "${!TARGETS[@]}"; do [ "${TARGETS[$i]}" = "$target" ] && index=$i; done
    if [ "$index" -lt 0 ]; then echo "unknown target $target; known: ${TARGETS[*]}"; exit 2; fi
    exe="$OUT/fuzz-$target"
    clang -g -O1 -Wall -Wextra -Werror $SAN -DDPROF_FUZZ_TARGET="$index" \
        tests/fuzz/fuzz_parsers.c csrc/procfs.c csrc/cgroup.c -lm -o "$exe"
    mkdir -p "$OUT/corpus-$target"
    seeds=(tests/fuzz/corpus/"$target")
    [ -d tests/fuzz/regressions/"$target" ] && seeds+=(tests/fuzz/regressions/"$target")
    if "$exe" -max_total_time="$seconds" -timeout=5 -max_len=8192 -print_final_stats=1 \
            -artifact_prefix="$OUT/crash-$target-" "$OUT/corpus-$target" "${seeds[@]}" \
            > "$OUT/$target.log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/$target.log")
        echo "$target: ${runs:-?} inputs in ${seconds} s, no crash"
    else
        failed=1
        echo "$target: CRASH (log $OUT/$target.log, input $(ls "$OUT"/crash-"$target"-* 2>/dev/null | head -1))"
        grep -m3 -E "ERROR|runtime error|SUMMARY" "$OUT/$target.log" || true
    fi
done
exit $failed
