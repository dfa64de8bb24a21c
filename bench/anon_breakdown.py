#!/usr/bin/env python3
"""Where a process's anonymous resident memory (RssAnon) is, from /proc/PID/smaps (issue 14).

    python3 bench/anon_breakdown.py PID

Groups the private anonymous mappings: the main heap ([heap], brk), thread stacks (8 MiB
mappings, the default pthread stack), malloc's per-thread arenas (64 MiB reservations, glibc's
HEAP_MAX_SIZE), other anonymous mappings (allocations past the mmap threshold, 128 KiB: a large
queue or buffer), and the writable data of the binary and its libraries. Prints kB resident per
group and the three largest mappings of the last groups with their addresses, to match against a
heap profile."""
import re
import sys


def mappings(pid):
    cur = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
            if m:
                if cur:
                    yield cur
                start, end = int(m.group(1), 16), int(m.group(2), 16)
                cur = {"start": start, "size": end - start, "perms": m.group(3), "name": m.group(4).strip()}
            elif cur is not None and ":" in line:
                key, value = line.split(":", 1)
                if value.strip().endswith("kB"):
                    cur[key] = int(value.split()[0])
    if cur:
        yield cur


def group(m, prev):
    if m["name"] == "[heap]":
        return "heap (brk)"
    if m["name"].startswith("[stack"):
        return "main thread stack"
    if m["name"].startswith("/"):
        return "library/binary data"
    if m["name"]:
        return m["name"]
    mib = 1024 * 1024
    # A thread stack: 8 MiB readable, right after its guard page (---p).
    if prev is not None and prev["perms"].startswith("---") and prev["start"] + prev["size"] == m["start"] and \
            abs(m["size"] - 8 * mib) <= 64 * 1024:
        return "thread stacks"
    # A malloc arena: the used part of a 64 MiB aligned reservation (the rest is ---p beside it).
    if m["start"] % (64 * mib) == 0 and m["size"] <= 64 * mib:
        return "malloc arenas"
    return "other anonymous mmap"


def main():
    pid = int(sys.argv[1])
    totals, biggest, prev = {}, {}, None
    for m in mappings(pid):
        anon = m.get("Anonymous", 0)
        g = group(m, prev)
        prev = m
        if anon == 0:
            continue
        totals[g] = totals.get(g, 0) + anon
        biggest.setdefault(g, []).append((anon, m["start"], m["size"]))
    with open(f"/proc/{pid}/status") as f:
        status = {l.split(":")[0]: l.split(":", 1)[1].strip() for l in f}
    print(f"pid {pid}: RssAnon {status.get('RssAnon')}, VmRSS {status.get('VmRSS')}, threads {status.get('Threads')}")
    for g, kb in sorted(totals.items(), key=lambda x: -x[1]):
        top = ", ".join(f"{a} kB @{s:x}/{sz // 1024} kB" for a, s, sz in sorted(biggest[g], reverse=True)[:3])
        print(f"  {g:24} {kb:8} kB   ({top})")
    print(f"  {'total':24} {sum(totals.values()):8} kB")


if __name__ == "__main__":
    main()
