#!/usr/bin/env python3
"""Turn one of litebox's Markdown documents into a man page (troff).

    md2man.py SOURCE.md OUTPUT NAME SECTION "TITLE LINE" VERSION

Handles the subset the documents use: headings, paragraphs, fenced code,
bullet and numbered lists, pipe tables, inline code, emphasis and links.
The man pages are generated at build time from the same text as the
documentation, so the two cannot drift apart."""
import re
import sys


def inline(text):
    text = text.replace("\\", "\\e")
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for p in parts:
        if p.startswith("`") and p.endswith("`") and len(p) >= 2:
            out.append("\\fB" + p[1:-1].replace("-", "\\-") + "\\fR")
            continue
        p = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", p)
        p = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", p)
        p = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\\fI\1\\fR", p)
        out.append(p)
    return "".join(out)


def uni(s):
    """Non-ASCII characters as troff escapes (\\[u2014])."""
    return "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in s)


def line_safe(s):
    """A troff text line must not start with a control character."""
    s = uni(s)
    return "\\&" + s if s[:1] in (".", "'") else s


def cells(row):
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|"):
        row = row[:-1]
    # split on | not escaped and not inside backticks
    out, cur, code = [], "", False
    i = 0
    while i < len(row):
        c = row[i]
        if c == "`":
            code = not code
        if c == "\\" and i + 1 < len(row) and row[i + 1] == "|":
            cur += "|"
            i += 2
            continue
        if c == "|" and not code:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    out.append(cur.strip())
    return out


def convert(md, name, section, title, version):
    lines = md.splitlines()
    out = [f'.TH {name.upper()} {section} "" "litebox {version}" "{title}"']
    i = 0
    para = []

    def flush():
        if para:
            out.append(".PP")
            out.extend(line_safe(inline(p)) for p in para)
            para.clear()

    first_h1 = True
    while i < len(lines):
        ln = lines[i]
        s = ln.strip()
        if s.startswith("```"):
            flush()
            out.append(".PP\n.RS 4\n.nf")
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                out.append(line_safe(lines[i].replace("\\", "\\e")))
                i += 1
            out.append(".fi\n.RE")
            i += 1
            continue
        m = re.match(r"^(#{1,4})\s+(.*)$", s)
        if m:
            flush()
            level, text = len(m.group(1)), m.group(2)
            if level == 1 and first_h1:
                first_h1 = False
                out.append(".SH NAME")
                out.append(line_safe(f"{name} \\- {inline(text)}"))
            elif level <= 2:
                out.append(uni(".SH " + inline(text).upper()))
            else:
                out.append(uni(".SS " + inline(text)))
            i += 1
            continue
        if s.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(cells(lines[i]))
                i += 1
            if len(rows) >= 2 and all(re.fullmatch(r":?-+:?", c) for c in rows[1]):
                rows = rows[2:]
            for r in rows:
                out.append(".TP")
                out.append(line_safe(inline(r[0])))
                out.append(line_safe(inline(" \u2014 ".join(c for c in r[1:] if c))))
            continue
        m = re.match(r"^(\s*)([-*]|\d+\.)\s+(.*)$", ln)
        if m:
            flush()
            bullet = "\\(bu" if m.group(2) in "-*" else m.group(2)
            item = [m.group(3)]
            i += 1
            while i < len(lines) and lines[i].strip() and not re.match(r"^\s*([-*]|\d+\.)\s+", lines[i]) \
                    and not lines[i].strip().startswith(("```", "|", "#")):
                item.append(lines[i].strip())
                i += 1
            out.append(f".IP {bullet} 4")
            out.extend(line_safe(inline(p)) for p in item)
            continue
        if not s:
            flush()
            i += 1
            continue
        para.append(s)
        i += 1
    flush()
    return "\n".join(out) + "\n"


def main():
    src, dst, name, section, title, version = sys.argv[1:7]
    with open(src, encoding="utf-8") as f:
        md = f.read()
    with open(dst, "w", encoding="utf-8") as f:
        f.write(convert(md, name, section, title, version))


if __name__ == "__main__":
    main()
