#!/usr/bin/env python3
"""clang-tidy over the tree (the repo's .clang-tidy), in parallel, remembering what was clean.

Each translation unit of daemon/ and tests/helpers/ in BUILD/compile_commands.json is checked
unless its fingerprint is in .tidy-clean: a hash of the .clang-tidy file, the compile command, the
source and every project header it includes (transitively). A full run over the tree takes about
20 minutes of CPU; with the committed .tidy-clean only what changed since the last clean run is
checked (a change to a header re-checks everything that includes it). Clean units are added to
.tidy-clean; any warning fails (WarningsAsErrors in .clang-tidy).

Usage: scripts/tidy.py [--build DIR] [--jobs N] [--all] [FILE...]"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".tidy-clean"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SEARCH = [ROOT / "daemon", ROOT / "tests"]


def headers_of(path, seen):
    """Project headers `path` includes, transitively."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return
    for inc in INCLUDE.findall(text):
        for base in [path.parent] + SEARCH:
            h = (base / inc).resolve()
            if h.is_file() and h not in seen:
                seen.add(h)
                headers_of(h, seen)
                break


def fingerprint(source, command):
    h = hashlib.sha256()
    h.update((ROOT / ".clang-tidy").read_bytes())
    # Where the tree is checked out must not matter (CI clones elsewhere): paths as <root>.
    h.update(" ".join(a.replace(str(ROOT), "<root>") for a in command).encode())
    files = set()
    headers_of(source, files)
    for f in [source] + sorted(files):
        h.update(str(f.relative_to(ROOT)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def save(prints, clean):
    """Keep only fingerprints of the current tree (the file stays small and reviewable)."""
    CACHE.write_text("".join(f"{fp}\n" for fp in sorted(set(prints.values()) & clean)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--all", action="store_true", help="ignore .tidy-clean")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    build = (ROOT / a.build).resolve() if not os.path.isabs(a.build) else Path(a.build)
    db = json.loads((build / "compile_commands.json").read_text())
    units = {}
    for e in db:
        src = Path(e["file"]).resolve()
        rel = src.relative_to(ROOT) if src.is_relative_to(ROOT) else None
        if rel is None or not (rel.parts[0] == "daemon" or rel.parts[:2] == ("tests", "helpers")):
            continue
        if a.files and str(rel) not in a.files:
            continue
        units[src] = e.get("arguments") or e["command"].split()
    clean = set() if a.all or not CACHE.exists() else set(CACHE.read_text().split())
    todo = []
    prints = {}
    for src, cmd in sorted(units.items()):
        fp = fingerprint(src, cmd)
        prints[src] = fp
        if fp not in clean:
            todo.append(src)
    print(f"clang-tidy: {len(units)} units, {len(units) - len(todo)} unchanged since their last clean run, "
          f"{len(todo)} to check ({a.jobs} at a time)", flush=True)

    def run(src):
        r = subprocess.run(["clang-tidy", "-p", str(build), "--quiet",
                            # GCC-only flags of the GCC build (-Wno-maybe-uninitialized) are not findings
                            "--extra-arg=-Wno-unknown-warning-option", str(src)], capture_output=True, text=True)
        return src, r.returncode, r.stdout

    failed = 0
    with ThreadPoolExecutor(a.jobs) as pool:
        for src, rc, out in pool.map(run, todo):
            rel = src.relative_to(ROOT)
            if rc == 0 and "warning:" not in out:
                clean.add(prints[src])
                print(f"  clean   {rel}", flush=True)
                save(prints, clean)  # as it goes: an interrupted run keeps what it checked
            else:
                failed += 1
                print(f"  FAILED  {rel}\n{out}", flush=True)
    save(prints, clean)
    print(f"clang-tidy: {failed} unit(s) with findings")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
