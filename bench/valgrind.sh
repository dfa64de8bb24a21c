#!/usr/bin/env bash
# tendd under valgrind memcheck (issue "hostile input and failing parts"): a short busy life with
# every kind of entry, driven through its socket, then a clean stop; fails unless memcheck reports
# 0 errors and no definite leak. A bench script, not a test (valgrind is 20-50x slower).
#
#   bench/valgrind.sh BUILD_DIR [SECONDS]      # BUILD_DIR: a plain (not sanitized) build
#
# Everything runs on 127.0.0.1 in a temporary directory; every process started here is ended by
# PID. Needs valgrind (Debian).
set -euo pipefail
build=$(cd "${1:?usage: bench/valgrind.sh BUILD_DIR [SECONDS]}" && pwd)
seconds=${2:-60}
tendd=$build/daemon/cli/tendd
tend=$build/daemon/cli/tend
work=$(mktemp -d /tmp/tend-valgrind-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A loopback web server for the probes (200 for /, 404 for the rest) and for the webhook (501).
mkdir -p "$work/www"
echo ok >"$work/www/index.html"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$port" >/dev/null 2>&1 &
pids+=($!)
: >"$work/access.log"
cat >"$work/tend.yaml" <<EOF
daemon:
  state_dir: $work/state
  socket: $work/tend.sock
  timezone: UTC
  log: {level: info}
notifiers:
  hook: {type: webhook, url: "http://127.0.0.1:$port/hook"}
alerts:
  routes:
    - notify: [hook]
jobs:
  ok: {schedule: "* * * * * *", shell: "echo fine"}
  fails: {schedule: "*/2 * * * * *", shell: "echo boom; exit 3", retries: {max: 1, delay: 1s}}
  slow: {schedule: "@reboot", command: [sleep, "600"], timeout: 3s}
probes:
  up: {url: "http://127.0.0.1:$port/", interval: 1s}
  down: {url: "http://127.0.0.1:$port/missing", interval: 1s, failure_threshold: 2}
watches:
  web: {file: $work/access.log, format: combined, window: 10s, min_requests: 5, warning: 5%, critical: 20%}
checks:
  beat: {every: 5s, grace: 2s}
EOF

echo "== tendd under memcheck for ${seconds}s ($work)"
valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
  --show-leak-kinds=definite --num-callers=30 --log-file="$work/memcheck.log" \
  "$tendd" --config "$work/tend.yaml" >"$work/tendd.log" 2>&1 &
tendd_pid=$!
pids+=("$tendd_pid")
for _ in $(seq 1 600); do
  TEND_SOCKET=$work/tend.sock "$tend" status --json >/dev/null 2>&1 && break
  sleep 0.1
done
end=$((SECONDS + seconds))
i=0
while [ $SECONDS -lt $end ]; do
  i=$((i + 1))
  printf '127.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET /x HTTP/1.1" %s 12 "-" "bench"\n' \
    "$([ $((i % 4)) -eq 0 ] && echo 500 || echo 200)" >>"$work/access.log"
  TEND_SOCKET=$work/tend.sock "$tend" status >/dev/null 2>&1 || true
  TEND_SOCKET=$work/tend.sock "$tend" ping beat >/dev/null 2>&1 || true
  [ $((i % 5)) -eq 0 ] && TEND_SOCKET=$work/tend.sock "$tend" history ok -n 5 >/dev/null 2>&1 || true
  [ $((i % 7)) -eq 0 ] && TEND_SOCKET=$work/tend.sock "$tend" metrics >/dev/null 2>&1 || true
  [ $((i % 11)) -eq 0 ] && TEND_SOCKET=$work/tend.sock "$tend" reload >/dev/null 2>&1 || true
  [ $((i % 13)) -eq 0 ] && TEND_SOCKET=$work/tend.sock "$tend" run ok --wait >/dev/null 2>&1 || true
  printf '{"cmd":"nonsense"}\nnot json\n' | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read()); s.recv(65536); s.close()
' "$work/tend.sock" 2>/dev/null || true
  sleep 0.5
done
kill -TERM "$tendd_pid"
rc=0
wait "$tendd_pid" || rc=$?
grep -E "ERROR SUMMARY|definitely lost|in use at exit" "$work/memcheck.log" || true
if [ "$rc" -ne 0 ]; then
  echo "memcheck: tendd exited $rc (99: memcheck errors); the log:" >&2
  grep -B2 -A25 -m5 -E "^==[0-9]+== (Invalid|Conditional|Syscall param|Mismatched|Source and destination)|definitely lost" \
    "$work/memcheck.log" >&2 || tail -40 "$work/memcheck.log" >&2
  exit 1
fi
runs=$(grep -c "event=SUCCESS\|event=FAILURE" "$work/tendd.log" || true)
probes=$(grep -c "event=DOWN\|event=UP" "$work/tendd.log" || true)
if [ "${runs:-0}" -eq 0 ]; then
  echo "memcheck: no job ran under valgrind; see the log" >&2
  tail -20 "$work/tendd.log" >&2
  exit 1
fi
echo "memcheck: 0 errors, no definite leak ($i rounds of requests, $runs job runs ended, $probes probe changes)"
