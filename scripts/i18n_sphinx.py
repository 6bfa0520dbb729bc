"""Sphinx extension of the book: the Korean edition (issue 18), built with the English one.

Wired in ``_config.yml`` (``sphinx.local_extensions``). The README's one build command
(``jupyter-book build .``) then builds both editions:

1. The English HTML build (``language = "en"``) first empties the execution cache
   (``_build/.jupyter_cache``), so every notebook is executed on every build, and executes into it.
2. When it has finished without error, it runs the Korean build in a child process: the same
   sources and ``_config.yml`` with ``language: ko`` and the Korean catalogues
   (``locales/ko/LC_MESSAGES``), reading the executed notebooks from that cache (no second
   execution; code cells and outputs are shared), with the same ``-W -n --keep-going``. Its
   pages go to ``_build/html/ko/``; the child's failure fails the build.
3. On the Korean pages the Colab and download buttons serve the Korean notebooks in ``ko/``
   (``scripts/translate_notebooks.py`` makes them from the English notebooks and the catalogues).

Every page gets a link to the same page in the other edition (``_templates/language-switcher.html``).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: Set in the child process that builds the Korean edition.
CHILD = "BOOK_I18N_CHILD"
LANGUAGES = {"en": "English", "ko": "한국어"}
#: The Korean edition's own config values (Jupyter Book config, not messages).
KO_TITLE = "합성곱 신경망 시각화"
KO_SEARCH = "이 책에서 검색..."
KO_SUBDIR = "ko"


def cache_path(srcdir: Path) -> Path:
    return Path(srcdir) / "_build" / ".jupyter_cache"


def relocated_config(srcdir: Path) -> dict:
    """``_config.yml`` with its paths made absolute, for a build whose config file lives elsewhere
    (the Korean build, the gettext extraction of ``scripts/i18n.py``)."""
    srcdir = Path(srcdir)
    config = yaml.safe_load((srcdir / "_config.yml").read_text(encoding="utf-8"))
    config["bibtex_bibfiles"] = [str(srcdir / f) for f in config.get("bibtex_bibfiles", [])]
    sphinx = config["sphinx"]
    sphinx["local_extensions"] = {k: str(srcdir / v) for k, v in sphinx.get("local_extensions", {}).items()}
    return config


def build_command(srcdir: Path, config: dict, work: Path, *options: str) -> list[str]:
    """Write ``config`` to ``work/_config.yml``; the Jupyter Book command that builds ``srcdir``
    with it into ``work/_build`` (run it with ``CHILD`` set in the environment)."""
    srcdir, work = Path(srcdir), Path(work)
    work.mkdir(parents=True, exist_ok=True)
    cfg = work / "_config.yml"
    cfg.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    book = Path(sys.executable).parent / "jupyter-book"
    start = [str(book)] if book.exists() else [sys.executable, "-m", "jupyter_book.cli.main"]
    return [*start, "build", str(srcdir), "--config", str(cfg), "--toc", str(srcdir / "_toc.yml"),
            "--path-output", str(work), "-W", "-n", "--keep-going", *options]


def korean_config(srcdir: Path, execute: bool = True) -> dict:
    """``_config.yml`` for the Korean build: paths made absolute (the file lives elsewhere),
    the language, the execution cache of the English build."""
    srcdir = Path(srcdir)
    config = relocated_config(srcdir)
    # (an English build with execution off, for a quick look, gives a Korean one without)
    config["title"] = KO_TITLE
    config["execute"]["execute_notebooks"] = "cache" if execute else "off"
    config["execute"]["cache"] = str(cache_path(srcdir))
    config["sphinx"]["config"]["language"] = "ko"
    config["repository"]["path_to_book"] = KO_SUBDIR
    return config


def _config_inited(app, config) -> None:
    config.templates_path = [*config.templates_path, str(ROOT / "_templates")]
    config.html_context = {**config.html_context, "book_languages": LANGUAGES}
    options = dict(config.html_theme_options)
    options["article_header_end"] = ["language-switcher.html", "article-header-buttons.html"]
    config.html_theme_options = options
    if config.language == "ko":
        config.html_title = KO_TITLE
        config.html_theme_options = {**config.html_theme_options, "search_bar_text": KO_SEARCH}


def _builder_inited(app) -> None:
    """Before anything is read: the English HTML build executes every notebook afresh."""
    if app.config.language != "ko" and not os.environ.get(CHILD) and app.builder.name == "html":
        shutil.rmtree(cache_path(app.srcdir), ignore_errors=True)


def _build_finished(app, exception) -> None:
    if exception is not None or app.builder.name != "html":
        return
    out = Path(app.outdir)
    if app.config.language == "ko":
        _korean_notebooks(app, out)
        return
    if os.environ.get(CHILD):
        return
    srcdir = Path(app.srcdir)
    work = srcdir / "_build" / ".ko"
    shutil.rmtree(work, ignore_errors=True)
    command = build_command(srcdir, korean_config(srcdir, app.config.nb_execution_mode != "off"), work)
    from sphinx.util import logging

    logging.getLogger(__name__).info("building the Korean edition into %s/%s", out, KO_SUBDIR)
    result = subprocess.run(command, env={**os.environ, CHILD: "1"}, capture_output=True, text=True)
    if result.returncode != 0:
        from sphinx.errors import ExtensionError

        raise ExtensionError("the Korean edition failed to build:\n" + result.stdout[-6000:] + result.stderr[-6000:])
    target = out / KO_SUBDIR
    shutil.rmtree(target, ignore_errors=True)
    shutil.move(str(work / "_build" / "html"), str(target))


def _korean_notebooks(app, out: Path) -> None:
    """The download button of a Korean page serves the Korean notebook (``ko/<docname>.ipynb``)."""
    for source in (Path(app.srcdir) / KO_SUBDIR).rglob("*.ipynb"):
        docname = source.relative_to(Path(app.srcdir) / KO_SUBDIR).with_suffix("").as_posix()
        stored = out / "_sources" / f"{docname}.ipynb"
        if stored.exists():
            shutil.copyfile(source, stored)


def _translatable_subtitles(directive):
    """sphinx-exercise parses an exercise's title into a subtitle without its source, so gettext
    neither extracts nor translates it: give it the directive's argument as its source."""

    class Directive(directive):
        def run(self):
            result = super().run()
            if self.arguments:
                from docutils import nodes
                from sphinx_exercise.nodes import exercise_subtitle

                for root in result:
                    for node in root.findall(exercise_subtitle) if isinstance(root, nodes.Node) else ():
                        node.rawsource = self.arguments[0]
                        node.source, node.line = self.state_machine.get_source_and_line(self.lineno)
            return result

    Directive.__name__ = directive.__name__
    return Directive


def _translate_toc_captions(app, doctree) -> None:
    """The part captions of ``_toc.yml`` enter the root page's toctrees after Sphinx's locale
    transform has run: translate them here, from the root page's catalogue (where gettext puts
    them)."""
    if app.config.language in (None, "en") or app.env.docname != app.config.root_doc:
        return
    from sphinx import addnodes
    from sphinx.locale import init as init_locale
    from sphinx.util.i18n import docname_to_domain

    dirs = [str(Path(app.srcdir) / d) for d in app.config.locale_dirs]
    catalog, has = init_locale(dirs, app.config.language, docname_to_domain(app.env.docname, app.config.gettext_compact))
    if not has:
        return
    for node in doctree.findall(addnodes.toctree):
        if node.get("caption"):
            node["caption"] = catalog.gettext(node["caption"])


def _override_exercise_directives(app, config) -> None:
    # at config-inited every extension has run its setup, so sphinx-exercise's own
    # registration of the directives cannot replace these afterwards
    from sphinx_exercise.directive import ExerciseDirective, ExerciseStartDirective

    app.add_directive("exercise", _translatable_subtitles(ExerciseDirective), override=True)
    app.add_directive("exercise-start", _translatable_subtitles(ExerciseStartDirective), override=True)


def _collect_exercise_titles(app, doctree) -> None:
    """sphinx-exercise's post-transform replaces the title before the gettext builder extracts
    messages: keep the titles as read, for ``_extract_exercise_titles``."""
    from sphinx_exercise.nodes import exercise_subtitle

    titles = getattr(app.env, "book_exercise_titles", {})
    titles[app.env.docname] = [(n.rawsource, n.source, n.line) for n in doctree.findall(exercise_subtitle) if n.rawsource]
    app.env.book_exercise_titles = titles


def _purge_exercise_titles(app, env, docname) -> None:
    getattr(env, "book_exercise_titles", {}).pop(docname, None)


def _merge_exercise_titles(app, env, docnames, other) -> None:
    titles = getattr(env, "book_exercise_titles", {})
    titles.update({d: t for d, t in getattr(other, "book_exercise_titles", {}).items() if d in docnames})
    env.book_exercise_titles = titles


def _extract_exercise_titles(app) -> None:
    """In the gettext builder: add each page's exercise titles to its catalogue."""
    if app.builder.name != "gettext":
        return
    import types

    from sphinx.util.i18n import docname_to_domain

    builder, write_doc = app.builder, app.builder.write_doc

    def write_with_titles(docname, doctree):
        write_doc(docname, doctree)
        catalog = builder.catalogs[docname_to_domain(docname, builder.config.gettext_compact)]
        for msg, source, line in getattr(builder.env, "book_exercise_titles", {}).get(docname, []):
            catalog.add(msg, types.SimpleNamespace(source=source, line=line, uid=""))

    builder.write_doc = write_with_titles


def _deduplicate_citation_backrefs(app, doctree, docname) -> None:
    """On a translated page sphinxcontrib-bibtex's citations collect a back-link for every time
    a message was parsed, most of them to ids of other references. Keep, in order and once, the
    back-links of references that exist on the page and point at the citation."""
    if app.config.language in (None, "en"):
        return
    from docutils import nodes

    def targets(node):  # what a node links to, itself or inside (the id sits on a wrapping span)
        return {n.get("refid") or (n.get("refuri") or "").rpartition("#")[2] for n in node.findall(nodes.Element)} - {""}

    points_at = {i: targets(node) for node in doctree.findall(nodes.Element)
                 if not isinstance(node, nodes.citation) for i in node.get("ids", [])}
    for citation in doctree.findall(nodes.citation):
        own = set(citation["ids"])
        citation["backrefs"] = list(dict.fromkeys(b for b in citation["backrefs"] if points_at.get(b, set()) & own))


def setup(app):
    app.connect("doctree-resolved", _deduplicate_citation_backrefs)
    app.connect("config-inited", _override_exercise_directives)
    app.connect("doctree-read", _collect_exercise_titles)
    app.connect("env-purge-doc", _purge_exercise_titles)
    app.connect("env-merge-info", _merge_exercise_titles)
    app.connect("builder-inited", _extract_exercise_titles)
    app.connect("doctree-read", _translate_toc_captions)
    app.connect("config-inited", _config_inited)
    app.connect("builder-inited", _builder_inited)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
