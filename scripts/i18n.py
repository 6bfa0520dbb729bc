"""The Korean edition's catalogues (issue 18): what a translation must keep, and a check.

    python scripts/i18n.py check [PO ...]     # default: every catalogue under locales/ko

A message is MyST source. Its translation must keep, exactly and as often, every piece a
reader's build or the book's links depend on: inline and display math, inline code, the
target of every role (``{cite}`key` ``, ``{ref}`text <label>` ``, ``{eq}`label` ``, ...; the
text shown before ``<target>`` may be translated) and every link's URL. ``check`` prints one
line per problem and exits with 1 if there is any; an empty or fuzzy entry is a problem too.
"""
from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "locales" / "ko" / "LC_MESSAGES"

ROLE = re.compile(r"\{(?P<name>[\w:-]+)\}`(?P<body>[^`]*)`")
DISPLAY_MATH = re.compile(r"\$\$.+?\$\$", re.S)
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(?:\\.|[^$\\])+?\$")
CODE = re.compile(r"(?<![`}])(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
LINK = re.compile(r"\]\((?P<url>[^)\s]+)\)")


def role_target(name: str, body: str) -> str:
    """What a role points at: the part in <...> when there is one, else the whole body."""
    m = re.fullmatch(r"(?s)(.*?)\s*<(?P<target>[^<>]+)>", body)
    return f"{{{name}}}{m['target'] if m else body}"


def protected(text: str) -> Counter:
    """The pieces of ``text`` that a translation must keep unchanged, counted."""
    found = Counter()
    for m in ROLE.finditer(text):
        found[role_target(m["name"], m["body"])] += 1
    rest = ROLE.sub(" ", text)
    for m in DISPLAY_MATH.finditer(rest):
        found[m[0]] += 1
    rest = DISPLAY_MATH.sub(" ", rest)
    for m in CODE.finditer(rest):
        found["`" + m[2] + "`"] += 1
    rest = CODE.sub(" ", rest)
    for m in INLINE_MATH.finditer(rest):
        found[m[0]] += 1
    for m in LINK.finditer(rest):
        found["(" + m["url"] + ")"] += 1
    return found


def problems(path: Path) -> list[str]:
    import polib

    out = []
    for entry in polib.pofile(str(path)):
        if entry.obsolete:
            continue
        where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {entry.msgid[:60]!r}"
        if not entry.msgstr.strip():
            out.append(f"{where}: not translated")
            continue
        if "fuzzy" in entry.flags:
            out.append(f"{where}: fuzzy")
        want, got = protected(entry.msgid), protected(entry.msgstr)
        if want != got:
            missing = sorted((want - got).elements())
            extra = sorted((got - want).elements())
            out.append(f"{where}: kept pieces differ; missing {missing}, extra {extra}")
    return out


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "check":
        print(__doc__)
        return 2
    paths = [Path(p).resolve() for p in argv[1:]] or sorted(LOCALE.rglob("*.po"))
    found = [line for p in paths for line in problems(p)]
    print("\n".join(found) if found else f"{len(paths)} catalogue(s): every message translated, every kept piece kept")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
