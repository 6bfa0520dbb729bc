"""The Korean edition's catalogues (issue 18): what a translation must keep, and a check.

    python scripts/i18n.py extract            # update the catalogues from the English source
    python scripts/i18n.py check [PO ...]     # default: every catalogue under locales/ko

A message is MyST source. Its translation must keep, exactly and as often, every piece a
reader's build or the book's links depend on: inline and display math, inline code, the
target of every role (``{cite}`key` ``, ``{ref}`text <label>` ``, ``{eq}`label` ``, ...; the
text shown before ``<target>`` may be translated) and every link's URL. ``check`` prints one
line per problem and exits with 1 if there is any; an empty or fuzzy entry is a problem too,
and so is bold or italic text that Markdown will not render as such (``**(a)**`` directly
followed by a Korean particle).

``extract`` runs Sphinx's gettext builder over the book (execution off: code cells and outputs
are not messages) into ``_build/.gettext`` and merges the templates into the catalogues: a
message whose English is unchanged keeps its translation, a new or changed message arrives
empty (a changed one keeps its old translation as a fuzzy suggestion), a removed one is dropped.
Translate the empty and fuzzy entries, then run ``check``.
"""
from __future__ import annotations

import difflib
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


EMPHASIS = re.compile(r"(?<![*\\])(\*\*|\*)(?![*\s])(.+?)(?<![*\s\\])\1(?!\*)")


def _punct(ch: str) -> bool:
    import unicodedata

    return unicodedata.category(ch)[0] in "PS"


def unclosed_emphasis(text: str) -> list[str]:
    """Emphasis that CommonMark does not render: ``**...)**`` directly followed by a letter
    (as a Korean particle is) or ``**(...`` directly after one. A closing run after
    punctuation must be followed by a space or punctuation, an opening run before
    punctuation must follow one."""
    rest = ROLE.sub(" ", DISPLAY_MATH.sub(" ", text))
    rest = INLINE_MATH.sub(" ", CODE.sub(" ", rest))
    bad = []
    for m in EMPHASIS.finditer(rest):
        before = rest[m.start() - 1] if m.start() else " "
        after = rest[m.end()] if m.end() < len(rest) else " "
        first, last = m[2][0], m[2][-1]
        opens = not _punct(first) or before.isspace() or _punct(before)
        closes = not _punct(last) or after.isspace() or _punct(after)
        if not (opens and closes):
            bad.append(m[0] + after)
    return bad


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
        for piece in unclosed_emphasis(entry.msgstr):
            out.append(f"{where}: emphasis Markdown will not close: {piece!r} (rephrase, or move the punctuation out)")
        want, got = protected(entry.msgid), protected(entry.msgstr)
        if want != got:
            missing = sorted((want - got).elements())
            extra = sorted((got - want).elements())
            out.append(f"{where}: kept pieces differ; missing {missing}, extra {extra}")
    return out


def templates(out: Path) -> dict[str, Path]:
    """Run the gettext builder into ``out``; the ``.pot`` templates by document name."""
    import os
    import subprocess

    sys.path.insert(0, str(ROOT))
    from scripts.i18n_sphinx import CHILD, build_command, relocated_config

    config = relocated_config(ROOT)
    config["execute"]["execute_notebooks"] = "off"
    command = build_command(ROOT, config, out, "--builder", "custom", "--custom-builder", "gettext", "-q")
    subprocess.run(command, check=True, env={**os.environ, CHILD: "1"})
    root = out / "_build" / "gettext"
    return {p.relative_to(root).with_suffix("").as_posix(): p for p in sorted(root.rglob("*.pot"))}


def merge(pot: Path, po: Path) -> tuple[int, int, int]:
    """Merge a template into a catalogue; (kept, new or changed, removed)."""
    import polib

    template = polib.pofile(str(pot))
    old = polib.pofile(str(po)) if po.exists() else polib.POFile()
    known = {e.msgid: e for e in old if not e.obsolete and e.msgstr.strip()}
    new = polib.POFile(wrapwidth=0)
    new.metadata = old.metadata or {
        "Project-Id-Version": "cnn-viz-book", "Language": "ko", "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8", "Content-Transfer-Encoding": "8bit"}
    kept = added = 0
    fresh = []
    for entry in template:
        if entry.msgid in known:
            was = known.pop(entry.msgid)
            # format flags are Babel's guesses; our messages are MyST, not format strings
            new.append(polib.POEntry(msgid=entry.msgid, msgstr=was.msgstr, flags=[f for f in was.flags if f == "fuzzy"]))
            kept += 1
        else:
            fresh.append(polib.POEntry(msgid=entry.msgid, msgstr=""))
            new.append(fresh[-1])
            added += 1
    for entry in fresh:  # a changed message: its old translation as a fuzzy suggestion
        close = difflib.get_close_matches(entry.msgid, list(known), n=1, cutoff=0.8)
        if close:
            entry.msgstr, entry.flags = known.pop(close[0]).msgstr, ["fuzzy"]
            entry.previous_msgid = close[0]
    po.parent.mkdir(parents=True, exist_ok=True)
    new.save(str(po))
    return kept, added, len(known)


def extract() -> int:
    import shutil

    out = ROOT / "_build" / ".gettext"
    shutil.rmtree(out, ignore_errors=True)
    pots = templates(out)
    for docname, pot in pots.items():
        kept, added, removed = merge(pot, LOCALE / f"{docname}.po")
        print(f"{docname}: {kept} kept, {added} new or changed, {removed} removed")
    for po in sorted(LOCALE.rglob("*.po")):
        if po.relative_to(LOCALE).with_suffix("").as_posix() not in pots:
            print(f"{po.relative_to(ROOT)}: no such page any more, removed")
            po.unlink()
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["extract"]:
        return extract()
    if not argv or argv[0] != "check":
        print(__doc__)
        return 2
    paths = [Path(p).resolve() for p in argv[1:]] or sorted(LOCALE.rglob("*.po"))
    found = [line for p in paths for line in problems(p)]
    print("\n".join(found) if found else f"{len(paths)} catalogue(s): every message translated, every kept piece kept")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
