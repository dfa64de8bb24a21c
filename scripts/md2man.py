#!/usr/bin/env python3
"""Markdown -> man(7) roff, for the subset tend's docs use (so tend.yaml(5) is docs/configuration.md).

Headings (# title, ## section, ### subsection), paragraphs, "- " lists with indented continuation
lines, fenced code blocks, pipe tables (rendered as tagged paragraphs: the first column is the tag,
a "default" column joins it) and inline `code`, **bold**, *emphasis* and [links](...). Output is
ASCII: other characters become \\[uXXXX], so `groff -ww` and lintian have nothing to warn about.

    scripts/md2man.py --name tend.yaml --section 5 docs/configuration.md -o build/man/tend.yaml.5
"""

import argparse
import datetime
import os
import re
import sys

SUMMARY = {
    "tend.yaml": ("configuration of tendd: jobs, probes, watches, checks, notifiers, alerts",
                  "/etc/tend/tend.yaml, /etc/tend/conf.d/*.yaml"),
}
SEE_ALSO = {"tend.yaml": ["tendd(8)", "tend(1)", "crontab(5)"]}


def escape(text):
    """Plain text for roff: backslash, hyphen-minus (copy-pasteable options) and non-ASCII."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\e")
        elif ch == "-":
            out.append("\\-")
        elif ord(ch) > 127:
            out.append("\\[u%04X]" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def inline(text):
    """Inline markdown: `code` (literal), [links](...) (the text), **bold**, *emphasis*.

    Fonts nest the markdown way: a code span inside bold returns to bold after it."""
    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"\1", text).replace("\\|", "|")
    out = []
    font = "R"
    i = 0
    while i < len(text):
        if text[i] == "`":
            end = text.find("`", i + 1)
            if end > i:
                out.append("\\fB" + escape(text[i + 1:end]) + "\\f" + font)
                i = end + 1
                continue
        if text.startswith("**", i) and (font == "B" or "**" in text[i + 2:]):
            font = "R" if font == "B" else "B"
            out.append("\\f" + font)
            i += 2
            continue
        if text[i] == "*" and (font == "I" or (i + 1 < len(text) and not text[i + 1].isspace()
                                                and "*" in text[i + 1:] and (i == 0 or not text[i - 1].isalnum()))):
            font = "R" if font == "I" else "I"
            out.append("\\f" + font)
            i += 1
            continue
        out.append(escape(text[i]))
        i += 1
    if font != "R":
        out.append("\\fR")
    return "".join(out)


def text_line(s):
    """A roff text line: a leading . or ' would be a request."""
    return "\\&" + s if s[:1] in (".", "'") else s


def table_cells(line):
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", line)]


def render(md, name, section, version, date):
    lines = md.splitlines()
    summary, synopsis = SUMMARY.get(name, (name, ""))
    out = [
        '.\\" Generated from docs/configuration.md by scripts/md2man.py: do not edit.',
        '.TH %s %d "%s" "tend %s" "File Formats"' % (escape(name.upper()), section, date, version),
        ".SH NAME",
        "%s \\- %s" % (escape(name), escape(summary)),
    ]
    if synopsis:
        out += [".SH SYNOPSIS", escape(synopsis)]
    out.append(".SH DESCRIPTION")
    i = 0
    para = []

    def flush():
        if para:
            out.append(".PP")
            out.append(text_line(inline(" ".join(para))))
            para.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            out += [".PP", ".in +4n", ".EX"]
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                out.append(text_line(escape(lines[i])))
                i += 1
            out += [".EE", ".in"]
            i += 1
            continue
        heading = re.match(r"^(#{1,3})\s+(.*)$", line)
        if heading:
            flush()
            level, title = len(heading.group(1)), heading.group(2).strip()
            if level == 2:
                out.append(".SH " + inline(title.replace("`", "")).upper())
            elif level == 3:
                out.append('.SS "' + inline(title.replace("`", "")).replace('"', "\\(dq") + '"')
            # The document title (#) is the page's NAME.
            i += 1
            continue
        if stripped.startswith("|") and i + 1 < len(lines) and re.match(r"^\s*\|[\s:|-]+\|\s*$", lines[i + 1]):
            flush()
            header = [h.lower() for h in table_cells(line)]
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = table_cells(lines[i])
                tag = inline(cells[0])
                body = []
                for h, cell in zip(header[1:], cells[1:]):
                    if h == "default":
                        if cell not in ("", "-", "\u2014"):
                            tag += " (default " + inline(cell) + ")"
                    elif cell:
                        body.append(inline(cell))
                out += [".TP", text_line(tag), text_line(" ".join(body))]
                i += 1
            out.append(".PP")
            continue
        if re.match(r"^\s*- ", line):
            flush()
            item = [re.sub(r"^\s*- ", "", line).strip()]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and not re.match(r"^\s*- ", lines[i]) \
                    and lines[i].strip():
                item.append(lines[i].strip())
                i += 1
            out += [".IP \\(bu 2", text_line(inline(" ".join(item)))]
            if i < len(lines) and not re.match(r"^\s*- ", lines[i]):
                out.append(".PP")
            continue
        if not stripped:
            flush()
            i += 1
            continue
        para.append(stripped)
        i += 1
    flush()
    refs = SEE_ALSO.get(name, [])
    if refs:
        out.append(".SH SEE ALSO")
        for n, ref in enumerate(refs):
            page, sec = ref[:-3], ref[-3:]
            out.append(".BR %s %s%s" % (escape(page), sec, "," if n + 1 < len(refs) else ""))
    # Consecutive .PP requests are harmless but noisy.
    cleaned = []
    for l in out:
        if l == ".PP" and cleaned and cleaned[-1] in (".PP", ".SH DESCRIPTION") :
            continue
        if l.startswith((".SH", ".SS")) and cleaned and cleaned[-1] == ".PP":
            cleaned.pop()
        cleaned.append(l)
    return "\n".join(cleaned) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("markdown")
    ap.add_argument("--name", required=True)
    ap.add_argument("--section", type=int, required=True)
    ap.add_argument("--version", default="")
    ap.add_argument("-o", "--output", default="-")
    args = ap.parse_args()
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    date = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime("%Y-%m-%d") if epoch else ""
    with open(args.markdown, encoding="utf-8") as f:
        text = render(f.read(), args.name, args.section, args.version, date)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="ascii") as f:
            f.write(text)


if __name__ == "__main__":
    main()
