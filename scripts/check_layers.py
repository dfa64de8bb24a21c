#!/usr/bin/env python3
"""Layering check: a module of daemon/ may include only its own headers and those of the modules it
depends on (directly or through them), as its CMakeLists.txt `tend_module(NAME DEPS ...)` says. A
lower layer including a higher one fails here, with the file and line.

Usage: scripts/check_layers.py [REPO_ROOT]"""
import re
import sys
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
daemon = root / "daemon"

deps = {}
# Sources of an executable built in a module's folder (daemon/cli builds `tend` there) may include
# what that executable links: file -> the modules it links directly.
programs = {}
for cmake in sorted(daemon.glob("*/CMakeLists.txt")):
    text = cmake.read_text()
    m = re.search(r"tend_module\((\w+)(.*?)\)", text, re.S)
    if not m:
        continue
    name = m.group(1)
    deps[name] = set(re.findall(r"\btend_(\w+)", m.group(2)))
    for exe, sources in re.findall(r"add_executable\((\w+)\s+([^)]*)\)", text):
        link = re.search(r"target_link_libraries\(" + exe + r"\b([^)]*)\)", text)
        linked = set(re.findall(r"\btend_(\w+)", link.group(1))) if link else set()
        for src in sources.split():
            programs[(cmake.parent / src).resolve()] = linked

def closure(name, seen=None):
    seen = set() if seen is None else seen
    for d in deps.get(name, ()):
        if d not in seen:
            seen.add(d)
            closure(d, seen)
    return seen

problems = []
for name in sorted(deps):
    allowed = closure(name) | {name}
    for src in sorted((daemon / name).glob("*.[ch]pp")):
        allowed_here = allowed
        if src.resolve() in programs:
            allowed_here = set(programs[src.resolve()])
            for d in programs[src.resolve()]:
                allowed_here |= closure(d)
        for lineno, line in enumerate(src.read_text().splitlines(), 1):
            inc = re.match(r'\s*#\s*include\s+"(\w+)/', line)
            if inc and inc.group(1) in deps and inc.group(1) not in allowed_here:
                problems.append(f"{src.relative_to(root)}:{lineno}: module '{name}' includes "
                                f"'{inc.group(1)}/', which is not among its DEPS ({', '.join(sorted(allowed_here - {name})) or 'none'})")
for cycle_check in sorted(deps):
    if cycle_check in closure(cycle_check):
        problems.append(f"daemon/{cycle_check}/CMakeLists.txt: module '{cycle_check}' depends on itself (a cycle)")

for p in problems:
    print(p)
print(f"layers: {len(deps)} modules, {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
