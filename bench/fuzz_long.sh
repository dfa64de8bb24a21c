#!/usr/bin/env bash
# Each libFuzzer target for a number of executions (default 10 million), one target per core at a
# time, then a table of executions, rate, time and findings per target (issue "hostile input and
# failing parts"). A bench script, not a test: the slow targets (config, request, crontab) take
# hours at this size.
#
#   bench/fuzz_long.sh [EXECUTIONS] [TARGET...]      # default: 10000000, every target
#
# Builds build-fuzz/ first (scripts/dev fuzz with a 1 s smoke). New inputs go to
# build-fuzz/corpus/TARGET, findings to build-fuzz/artifacts/ (as in the smoke); nothing is
# written into the repository. The table goes to stdout and bench/results/fuzz_long.md.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10000000}
shift || true
jobs=${TEND_JOBS:-$(nproc)}
TEND_FUZZ_SECONDS=1 scripts/dev fuzz >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cd fuzz/corpus && ls)
fi
declare -A max_len=([config]=16384 [crontab]=8192 [request]=4096 [access_log]=2048 [url]=1024 [cron]=256 [probe_response]=8192)
declare -A dicts=([crontab]=cron)
mkdir -p build-fuzz/long
running=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t"
  dict=()
  if [ -f "fuzz/dict/${dicts[$t]:-$t}.dict" ]; then dict=(-dict="fuzz/dict/${dicts[$t]:-$t}.dict"); fi
  ( start=$(date +%s)
    if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       "build-fuzz/fuzz/fuzz_$t" -runs="$runs" -timeout=5 -rss_limit_mb=1024 -max_len="${max_len[$t]:-4096}" \
         "${dict[@]}" -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t-" \
         "build-fuzz/corpus/$t" "fuzz/corpus/$t" >"build-fuzz/long/$t.log" 2>&1; then
      echo "0 $(( $(date +%s) - start ))" >"build-fuzz/long/$t.result"
    else
      echo "1 $(( $(date +%s) - start ))" >"build-fuzz/long/$t.result"
    fi ) &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true
{
  echo "# Fuzzing, ${runs} executions a target — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "| target | executions | exec/s | seconds | findings | slowest input s | peak RSS MB |"
  echo "| --- | ---: | ---: | ---: | --- | ---: | ---: |"
  for t in "${targets[@]}"; do
    log=build-fuzz/long/$t.log
    read -r failed secs <"build-fuzz/long/$t.result"
    stat() { sed -n "s/^stat::$1: *//p" "$log"; }
    finding=none
    if [ "$failed" -ne 0 ]; then
      finding=$(grep -m1 -oE 'ERROR: [A-Za-z]+: [a-z-]+|runtime error|ALARM: working on the last Unit|out-of-memory' "$log" || echo "failed: $log")
    fi
    echo "| $t | $(stat number_of_executed_units) | $(stat average_exec_per_sec) | $secs | $finding | $(stat slowest_unit_time_sec) | $(stat peak_rss_mb) |"
  done
} | tee bench/results/fuzz_long.md
