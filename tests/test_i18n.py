"""The Korean edition (issue 18): catalogues complete and fresh, kept pieces kept, the Korean
Colab notebooks up to date, the build wiring.

The browser checks of the built Korean pages are in ``tests/test_site.py``.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import types
from collections import Counter
from pathlib import Path

import nbformat
import polib
import pytest
import yaml

from scripts import i18n, i18n_sphinx, translate_notebooks

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "locales" / "ko" / "LC_MESSAGES"
CATALOGUES = sorted(LOCALE.rglob("*.po"))
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def docname(po: Path) -> str:
    return po.relative_to(LOCALE).with_suffix("").as_posix()


def test_there_is_one_catalogue_per_page_of_the_toc():
    from scripts.toc import toc_docnames

    assert sorted(docname(p) for p in CATALOGUES) == sorted(toc_docnames())


@pytest.mark.parametrize("po", CATALOGUES, ids=docname)
def test_every_message_is_translated_into_korean(po):
    entries = [e for e in polib.pofile(str(po)) if not e.obsolete]
    assert entries, f"{po.name} holds no message"
    empty = [e.msgid[:60] for e in entries if not e.msgstr.strip()]
    fuzzy = [e.msgid[:60] for e in entries if "fuzzy" in e.flags]
    assert not empty, f"{len(empty)} untranslated: {empty[:5]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy: {fuzzy[:5]}"
    # a translation is Korean: a message with words has Hangul in its translation, unless it is
    # a name, a formula or code that stays as it is (then the translation equals the source)
    def prose(text):  # without roles, inline code and math
        return re.sub(r"\$[^$]*\$|(\{[\w:-]+\})?`[^`]*`", " ", text)

    english = [e.msgid[:60] for e in entries
               if len(re.findall(r"[A-Za-z]{3,}", prose(e.msgid))) >= 4 and not HANGUL.search(e.msgstr) and e.msgstr != e.msgid]
    assert not english, f"translations without Korean text: {english[:5]}"


@pytest.mark.parametrize("po", CATALOGUES, ids=docname)
def test_translations_keep_math_code_role_targets_and_links(po):
    assert i18n.problems(po) == []


def test_kept_pieces_are_found_and_a_dropped_one_is_reported(tmp_path):
    source = ("Eq. {eq}`eq-x` gives $p_c(x)$ for `model(x)`; see {ref}`the chapter <saliency>`, "
              "{cite}`zeiler2014visualizing` and [the paper](https://arxiv.org/abs/1311.2901).")
    assert i18n.protected(source) == Counter({
        "{eq}eq-x": 1, "$p_c(x)$": 1, "`model(x)`": 1, "{ref}saliency": 1,
        "{cite}zeiler2014visualizing": 1, "(https://arxiv.org/abs/1311.2901)": 1})
    good = ("식 {eq}`eq-x`는 `model(x)`에 대한 $p_c(x)$를 준다. {ref}`해당 장 <saliency>`, "
            "{cite}`zeiler2014visualizing`, [논문](https://arxiv.org/abs/1311.2901) 참고.")
    bad = good.replace("$p_c(x)$", "p_c(x)").replace("<saliency>", "<occlusion>")
    po = polib.POFile()
    po.append(polib.POEntry(msgid=source, msgstr=good))
    po.append(polib.POEntry(msgid=source + " Two.", msgstr=bad + " 둘."))
    po.append(polib.POEntry(msgid="Untouched.", msgstr=""))
    po.append(polib.POEntry(msgid="Unsure.", msgstr="불확실.", flags=["fuzzy"]))
    path = tmp_path / "page.po"
    po.save(str(path))
    found = i18n.problems(path)
    assert len(found) == 3, found
    assert "$p_c(x)$" in found[0] and "{ref}saliency" in found[0] and "{ref}occlusion" in found[0]
    assert found[1].endswith("not translated") and found[2].endswith("fuzzy")


def test_merge_keeps_unchanged_translations_and_offers_the_old_one_for_a_changed_message(tmp_path):
    old = polib.POFile()
    old.append(polib.POEntry(msgid="The map is bright on the object.", msgstr="맵은 물체 위에서 밝다."))
    old.append(polib.POEntry(msgid="A removed sentence that is gone.", msgstr="사라진 문장."))
    old.append(polib.POEntry(msgid="The square slides over the image at stride 4.", msgstr="사각형은 보폭 4로 움직인다."))
    old.save(str(tmp_path / "page.po"))
    pot = polib.POFile()
    for msgid in ["The map is bright on the object.", "The square slides over the image at stride 8.", "Brand new."]:
        pot.append(polib.POEntry(msgid=msgid))
    pot.save(str(tmp_path / "page.pot"))
    kept, added, removed = i18n.merge(tmp_path / "page.pot", tmp_path / "page.po")
    assert (kept, added, removed) == (1, 2, 1)
    merged = {e.msgid: e for e in polib.pofile(str(tmp_path / "page.po"))}
    assert list(merged) == ["The map is bright on the object.", "The square slides over the image at stride 8.", "Brand new."]
    assert merged["The map is bright on the object."].msgstr == "맵은 물체 위에서 밝다."
    changed = merged["The square slides over the image at stride 8."]
    assert changed.msgstr == "사각형은 보폭 4로 움직인다." and "fuzzy" in changed.flags
    assert merged["Brand new."].msgstr == ""


@pytest.fixture(scope="module")
def fresh_templates(tmp_path_factory):
    """The English source's messages now, extracted by Sphinx's gettext builder (execution off)."""
    return i18n.templates(tmp_path_factory.mktemp("gettext"))


def test_catalogues_hold_exactly_the_messages_of_the_english_source(fresh_templates):
    assert sorted(fresh_templates) == sorted(docname(p) for p in CATALOGUES), "pages differ: run scripts/i18n.py extract"
    stale = {}
    for name, pot in fresh_templates.items():
        want = {e.msgid for e in polib.pofile(str(pot))}
        have = {e.msgid for e in polib.pofile(str(LOCALE / f"{name}.po")) if not e.obsolete}
        if want != have:
            stale[name] = (sorted(want - have)[:3], sorted(have - want)[:3])
    assert not stale, f"catalogues older than the English source (run scripts/i18n.py extract): {stale}"


def test_exercise_titles_and_toc_captions_are_messages(fresh_templates):
    from scripts.toc import toc_docnames

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    captions = {part["caption"] for part in toc.get("parts", []) if part.get("caption")}
    root = {e.msgid for e in polib.pofile(str(fresh_templates[toc["root"]]))}
    assert captions and captions <= root, f"toc captions missing from {toc['root']}: {captions - root}"
    titles = {}
    for name in toc_docnames():
        path = next(ROOT.glob(f"{name}.*"))
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells if c.cell_type == "markdown")
        for title in re.findall(r"^(?:```|:::)\{exercise(?:-start)?\}[ \t]+(\S[^\n]*)$", text, re.M):
            titles.setdefault(name, set()).add(title.strip())
    assert titles, "no exercise found in the book"
    for name, want in titles.items():
        have = {e.msgid for e in polib.pofile(str(fresh_templates[name]))}
        assert want <= have, f"{name}: exercise titles not extracted: {sorted(want - have)}"


# --- the Korean Colab notebooks ------------------------------------------------------------

NOTEBOOKS = translate_notebooks.notebooks()


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_korean_notebook_is_up_to_date_and_only_its_markdown_is_translated(source):
    target = ROOT / "ko" / source.relative_to(ROOT)
    assert target.is_file(), f"{target.relative_to(ROOT)} is missing: run scripts/translate_notebooks.py"
    ko = nbformat.read(target, as_version=4)
    made, missing = translate_notebooks.translate_notebook(source)
    assert nbformat.writes(ko) == nbformat.writes(made), f"{target.relative_to(ROOT)} is out of date: run scripts/translate_notebooks.py"

    en = nbformat.read(source, as_version=4)
    assert en.metadata == ko.metadata and len(en.cells) == len(ko.cells)
    for a, b in zip(en.cells, ko.cells):
        assert a.cell_type == b.cell_type
        if a.cell_type == "code":
            assert a == b, "a code cell (source or outputs) differs from the English notebook"
    # every translated message of the page: its English is gone from the markdown, its Korean is there
    messages = {e.msgid: e.msgstr for e in polib.pofile(str(LOCALE / f"{source.relative_to(ROOT).with_suffix('').as_posix()}.po"))
                if e.msgstr.strip() and "fuzzy" not in e.flags}
    en_md = words("\n".join(c.source for c in en.cells if c.cell_type == "markdown"))
    ko_md = words("\n".join(c.source for c in ko.cells if c.cell_type == "markdown"))
    for msgid, msgstr in messages.items():
        if msgid not in missing and len(msgid) >= 40 and msgid != msgstr:
            assert words(msgid) in en_md
            assert words(msgid) not in ko_md, f"still English in the Korean notebook: {msgid[:60]!r}"
            assert words(msgstr) in ko_md, f"translation missing from the Korean notebook: {msgstr[:60]!r}"
    # the only messages of a page that are not in its markdown cells: the root page's toc
    # captions (from _toc.yml), and display math, whose translation is the formula itself
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    captions = {part["caption"] for part in toc.get("parts", [])} if source.stem == Path(toc["root"]).name else set()
    unplaced = {m for m in missing if messages.get(m, m) != m} - captions
    assert not unplaced, f"messages of the page not translated in the notebook: {sorted(unplaced)[:3]}"
    assert len(HANGUL.findall(ko_md)) > 0.5 * len(re.findall(r"[A-Za-z]+", en_md))


def test_translate_markdown_replaces_whole_messages_across_line_breaks_and_never_in_code():
    messages = {"The map is bright on the object.": "맵은 물체 위에서 밝다.", "object": "물체", "map": "맵"}
    text = "Intro.\n\nThe map is bright\non the object.\n\n```python\nmap = object\n```\n\n| map |\n|---|\n| objects |"
    out, used = translate_notebooks.translate_markdown(text, messages)
    assert out == "Intro.\n\n맵은 물체 위에서 밝다.\n\n```python\nmap = object\n```\n\n| 맵 |\n|---|\n| objects |"
    assert used == {"The map is bright on the object.", "map"}


# --- the build wiring ----------------------------------------------------------------------

def test_english_build_empties_the_execution_cache_and_the_korean_build_reuses_it(tmp_path):
    cache = tmp_path / "_build" / ".jupyter_cache"

    def app(language, builder="html"):
        return types.SimpleNamespace(srcdir=str(tmp_path), config=types.SimpleNamespace(language=language),
                                     builder=types.SimpleNamespace(name=builder))

    for language, builder, emptied in [("ko", "html", False), ("en", "gettext", False), ("en", "html", True)]:
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "global.db").write_text("x")
        i18n_sphinx._builder_inited(app(language, builder))
        assert cache.exists() != emptied, (language, builder)

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"]["execute_notebooks"] == "cache"
    ko = i18n_sphinx.korean_config(ROOT)
    assert ko["execute"]["execute_notebooks"] == "cache"
    assert Path(ko["execute"]["cache"]) == ROOT / "_build" / ".jupyter_cache"
    assert ko["sphinx"]["config"]["language"] == "ko" and ko["repository"]["path_to_book"] == "ko"
    assert all(Path(p).is_absolute() and Path(p).exists() for p in ko["bibtex_bibfiles"])
