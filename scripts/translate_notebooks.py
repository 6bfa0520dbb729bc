"""The Korean Colab notebooks (issue 18): ``ko/chapters/X.ipynb`` from the English notebook and
its catalogue.

    python scripts/translate_notebooks.py           # write ko/chapters/*.ipynb
    python scripts/translate_notebooks.py --check   # only report; exit 1 if one is out of date

Code cells, their outputs and the notebook's metadata are copied unchanged. In a markdown cell
every passage that is a message of the page's catalogue (``locales/ko/LC_MESSAGES/chapters/X.po``)
is replaced by its translation; a message without a translation stays English. A message is
found where its words appear in that order separated by any white space (the source wraps
lines, the message does not), longest messages first, never inside a code block of the cell
or inside a passage already replaced.

The English notebooks are the only ones anyone edits: run this after ``scripts/i18n.py
extract`` and translating, and after re-executing a chapter (the outputs are copied).
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "locales" / "ko" / "LC_MESSAGES"
TARGET = ROOT / "ko"
OPENING = re.compile(r"^[ \t]*(`{3,}|~{3,}|:{3,})[ \t]*(\{([\w:-]+)\})?")
OPTION = re.compile(r"^[ \t]*:[\w-]+:(?:[ \t].*)?$")
#: directives whose content is not prose (kept whole, like a fenced code block)
LITERAL = {"code", "code-block", "code-cell", "sourcecode", "literalinclude", "math", "raw", "eval-rst"}


def _closes(fence: str, line: str) -> bool:
    """Whether ``line`` closes a block opened by ``fence`` (the same character, at least as many)."""
    return re.fullmatch(r"[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*", line) is not None


def _kept_blocks(text: str) -> list[tuple[int, int]]:
    """Character spans that are never translated: fenced code blocks, literal directives, and
    directive option lines (``:label: ...``). A directive's opening line (its title) and its
    content stay translatable."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    spans, stack, i = [], [], 0
    while i < len(lines):
        line = lines[i].rstrip("\n")
        m = OPENING.match(line)
        if stack and _closes(stack[-1], line):
            stack.pop()
        elif m and (m[2] or m[1][0] != ":"):
            fence, name = m[1], m[3]
            if name is None or name in LITERAL:  # code: keep up to its closing fence
                j = next((k for k in range(i + 1, len(lines)) if _closes(fence, lines[k].rstrip("\n"))), len(lines) - 1)
                spans.append((starts[i], starts[j + 1]))
                i = j
            else:
                stack.append(fence)
                j = i + 1
                while j < len(lines) and OPTION.match(lines[j].rstrip("\n")):
                    spans.append((starts[j], starts[j + 1]))
                    j += 1
                i = j - 1
        i += 1
    return spans


def catalogue(docname: str, locale: Path = LOCALE) -> dict[str, str]:
    """The page's translations, ``{English: Korean}``; untranslated and fuzzy entries left out."""
    import polib

    path = locale / f"{docname}.po"
    if not path.exists():
        return {}
    return {e.msgid: e.msgstr for e in polib.pofile(str(path))
            if e.msgstr.strip() and not e.obsolete and "fuzzy" not in e.flags}


def _pattern(msgid: str) -> re.Pattern:
    words = [re.escape(w) for w in msgid.split()]
    return re.compile(r"(?<![\w`])" + r"\s+".join(words) + r"(?![\w`])")


def translate_markdown(text: str, messages: dict[str, str]) -> tuple[str, set[str]]:
    """``text`` with every message replaced by its translation, and the messages found."""
    held: list[str] = []

    def hold(replacement: str) -> str:
        held.append(replacement)
        return f"\x00{len(held) - 1}\x00"

    for a, b in reversed(_kept_blocks(text)):
        text = text[:a] + hold(text[a:b]) + text[b:]
    used = set()
    for msgid in sorted(messages, key=len, reverse=True):
        if not msgid.split():
            continue
        text, n = _pattern(msgid).subn(lambda m, t=messages[msgid]: hold(t), text)
        if n:
            used.add(msgid)
    while "\x00" in text:
        text = re.sub(r"\x00(\d+)\x00", lambda m: held[int(m[1])], text)
    return text, used


def translate_notebook(source: Path, root: Path = ROOT, locale: Path = LOCALE):
    """The Korean notebook of ``source`` and the page's messages not found in it."""
    docname = source.resolve().relative_to(root.resolve()).with_suffix("").as_posix()
    messages = catalogue(docname, locale)
    nb = nbformat.read(source, as_version=4)
    ko = copy.deepcopy(nb)
    used: set[str] = set()
    for cell in ko.cells:
        if cell.cell_type == "markdown":
            cell.source, found = translate_markdown(cell.source, messages)
            used |= found
    return ko, sorted(set(messages) - used)


def notebooks(root: Path = ROOT) -> list[Path]:
    return sorted((root / "chapters").glob("*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if a Korean notebook is out of date")
    args = parser.parse_args(argv)
    stale = []
    for source in notebooks():
        ko, missing = translate_notebook(source)
        target = TARGET / source.relative_to(ROOT)
        text = nbformat.writes(ko) + "\n"
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current != text:
            stale.append(target)
            if not args.check:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        for msgid in missing:
            print(f"{source.relative_to(ROOT)}: message not found in a markdown cell: {msgid[:70]!r}")
    for t in stale:
        print(f"{'out of date' if args.check else 'written'}: {t.relative_to(ROOT)}")
    if not stale:
        print("every Korean notebook is up to date")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
