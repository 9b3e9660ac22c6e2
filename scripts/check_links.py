#!/usr/bin/env python3
"""Checks every relative link of the repository's Markdown files: the file or folder it names
exists, and its `#anchor` (in the same file or another Markdown file) is a heading there, by
GitHub's rules (lower case, punctuation dropped, spaces to hyphens, `-1`, `-2`… for repeats).

Links to `http(s):`/`mailto:` addresses are not fetched. Code blocks and code spans are skipped.

Usage: scripts/check_links.py [FILE.md ...]   (default: every tracked *.md file)
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"`+[^`]*`+")


def slug(text: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading: its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def prose_lines(path: Path):
    """(line number, text) of the lines outside fenced code blocks."""
    fence = None
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        stripped = line.lstrip()
        marker = re.match(r"^(`{3,}|~{3,})", stripped)
        if marker:
            if fence is None:
                fence = marker.group(1)[0]
            elif stripped.startswith(fence * 3):
                fence = None
            continue
        if fence is None:
            yield n, line


_anchors: dict[Path, set[str]] = {}


def anchors(path: Path) -> set[str]:
    if path not in _anchors:
        seen: dict[str, int] = {}
        found = set()
        for _, line in prose_lines(path):
            m = HEADING.match(line)
            if not m:
                continue
            a = slug(m.group(2))
            n = seen.get(a, 0)
            seen[a] = n + 1
            found.add(a if n == 0 else f"{a}-{n}")
        # explicit HTML anchors: <a id="…"> / <a name="…">
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", text))
        _anchors[path] = found
    return _anchors[path]


def tracked_markdown() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return [ROOT / p for p in out.split() if (ROOT / p).exists()]


def check(path: Path) -> list[str]:
    problems = []
    for n, line in prose_lines(path):
        for target in LINK.findall(CODE_SPAN.sub("", line)):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                continue  # http:, https:, mailto:
            file_part, _, anchor = target.partition("#")
            dest = (path.parent / file_part).resolve() if file_part else path
            where = f"{path.relative_to(ROOT)}:{n}: {target}"
            if not dest.exists():
                problems.append(f"{where}: no such file")
                continue
            if anchor:
                if dest.is_dir() or dest.suffix != ".md":
                    problems.append(f"{where}: an anchor into something that is not Markdown")
                elif anchor not in anchors(dest):
                    problems.append(f"{where}: no heading with anchor #{anchor} in "
                                    f"{dest.relative_to(ROOT)}")
    return problems


def main() -> int:
    files = [Path(a).resolve() for a in sys.argv[1:]] or tracked_markdown()
    problems = [p for f in files for p in check(f)]
    for p in problems:
        print(f"check_links: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"check_links: {len(files)} files, every relative link and anchor resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
