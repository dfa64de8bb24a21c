#!/usr/bin/env bash
# End-to-end watch throughput: append MEGABYTES of combined access-log lines to a file that a
# real tendd watches, and time until `tend status` shows every request counted.
#   bench/watch_throughput.sh BUILD_DIR [MEGABYTES] [combined|json]
# BUILD_DIR holds daemon/cli/tendd and daemon/cli/tend (a Release build gives the real figure).
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [MEGABYTES] [combined|json]}
mb=${2:-100}
format=${3:-combined}
tendd="$build/daemon/cli/tendd"
tend="$build/daemon/cli/tend"
work=$(mktemp -d /tmp/tend-bench.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/tend.yaml" <<YAML
daemon:
  state_dir: $work/state
  socket: $work/tend.sock
  log: {level: warning}
watches:
  bench:
    file: $work/access.log
    format: $format
    window: 10m
    min_requests: 1000000000
YAML
: > "$work/access.log"

# The input, made before the clock starts: realistic lines, 1 in 20 a 5xx.
read -r lines bytes < <(python3 - "$work/input.log" "$mb" "$format" <<'PY'
import json, sys
path, mb, fmt = sys.argv[1], int(sys.argv[2]), sys.argv[3]
agents = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
          "curl/8.4.0", "python-requests/2.31.0"]
lines = []
for i in range(10000):
    status = 502 if i % 20 == 0 else 200
    path_ = f"/api/v1/orders/{i * 7919 % 100000}?page={i % 9}"
    if fmt == "json":
        lines.append(json.dumps({"time": "2026-11-21T10:00:03+00:00", "remote_addr": f"203.0.113.{i % 250}",
                                 "request": f"GET {path_} HTTP/1.1", "status": str(status), "body_bytes_sent": 1000 + i,
                                 "http_user_agent": agents[i % 3]}, separators=(",", ":")) + "\n")
    else:
        lines.append(f'203.0.113.{i % 250} - - [21/Nov/2026:10:00:03 +0000] "GET {path_} HTTP/1.1" {status} '
                     f'{1000 + i} "https://example.com/" "{agents[i % 3]}"\n')
chunk = "".join(lines).encode()
target = mb * 1024 * 1024
written = 0
count = 0
with open(path, "wb") as f:
    while written + len(chunk) <= target:
        f.write(chunk)
        written += len(chunk)
        count += len(lines)
print(count, written)
PY
)

"$tendd" --config "$work/tend.yaml" > "$work/tendd.log" 2>&1 &
pid=$!
export TEND_SOCKET="$work/tend.sock"
for _ in $(seq 200); do "$tend" status --json > /dev/null 2>&1 && break; sleep 0.05; done

python3 - "$tend" "$work/input.log" "$work/access.log" "$lines" "$bytes" "$format" <<'PY'
import json, shutil, subprocess, sys, time
tend, src, dst, lines, size, fmt = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
def counted():
    out = subprocess.run([tend, "status", "--json"], capture_output=True, text=True, check=True).stdout
    e = [e for e in json.loads(out)["entries"] if e["name"] == "bench"][0]
    return e["total_requests"], e["unparsed"], e["errors"]
start = time.monotonic()
with open(src, "rb") as i, open(dst, "ab") as o:
    shutil.copyfileobj(i, o, 1 << 20)
appended = time.monotonic() - start
while True:
    total, unparsed, errors = counted()
    if total + unparsed >= lines:
        break
    if time.monotonic() - start > 600:
        sys.exit(f"gave up: {total} of {lines} counted")
    time.sleep(0.02)
elapsed = time.monotonic() - start
print(f"format={fmt} appended {size / 2**20:.0f} MiB ({lines} lines) in {appended:.2f}s; "
      f"all counted after {elapsed:.2f}s: {lines / elapsed:,.0f} lines/s, {size / 2**20 / elapsed:.1f} MiB/s "
      f"(unparsed={unparsed}, 5xx in window={errors})")
PY
