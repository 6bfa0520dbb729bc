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
FENCE = re.compile(r"^(```+|~~~+)(?!\{)[^\n]*\n.*?^\1[ \t]*$", re.S | re.M)


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

    text = FENCE.sub(lambda m: hold(m[0]), text)
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
