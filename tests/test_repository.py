"""The repository's own conventions: one repository address, a complete toc, stored notebooks.

``_config.yml`` (``repository.url``) is the only place the repository is named; the copies in
the notebooks' Colab install lines, ``CONTRIBUTING.md`` and ``README.md`` must agree with it
(``scripts/set_repository.py`` writes them), and the GitHub workflows name no address at all.
The expected strings are built here from ``_config.yml``, independently of that script.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from scripts.toc import toc_docnames

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPO = CONFIG["repository"]
URL = REPO["url"].rstrip("/")
ORG, NAME = URL.removeprefix("https://github.com/").split("/")
BRANCH = REPO.get("branch", "main")
INSTALL_LINE = f'%pip install -q "vizlib @ git+{URL}"'
PAGES_URL = f"https://{ORG.lower()}.github.io/{NAME}/"
COLAB_PREFIX = f"https://colab.research.google.com/github/{ORG}/{NAME}/blob/{BRANCH}/"
BUILD_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && "
    ".venv/bin/python scripts/set_repository.py && .venv/bin/jupyter-book build . -W -n --keep-going"
)
TEST_COMMAND = ".venv/bin/python -m pytest"
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


def first_code_cell(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code")


def all_sources(path: Path) -> str:
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)


def test_config_names_a_github_repository_on_main_with_the_book_at_the_root():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", URL), URL
    assert BRANCH == "main"
    assert not str(REPO.get("path_to_book") or "").strip("/")
    # "cache" into a cache that the English build empties first (scripts/i18n_sphinx.py), so
    # every notebook still runs on every build; tests/test_i18n.py checks the emptying
    assert CONFIG["execute"]["execute_notebooks"] == "cache"
    assert CONFIG["only_build_toc_files"] is True


def test_toc_is_a_jb_book_whose_files_exist():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    assert toc["format"] == "jb-book" and toc["root"] == "chapters/intro"
    missing = [f for f in toc_docnames() if not any((ROOT / f"{f}{ext}").is_file() for ext in (".ipynb", ".md"))]
    assert not missing, f"_toc.yml lists chapters that do not exist: {missing}"
    assert len(set(toc_docnames())) == len(toc_docnames()), "a file is listed twice in _toc.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_installs_vizlib_from_configured_repository_only_in_colab(path):
    setup = first_code_cell(path)
    assert f'if "google.colab" in sys.modules:\n    {INSTALL_LINE}' in setup, (
        f"{path.name}: the first code cell must install with `{INSTALL_LINE}` inside the Colab guard "
        "(run `python scripts/set_repository.py`)"
    )
    for line in ('MODEL = os.environ.get("VIZLIB_MODEL", "course")',
                 'WEIGHTS = None if os.environ.get("VIZLIB_WEIGHTS") == "random" else "default"',
                 'DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")',
                 "vizlib.set_seed(0)"):
        assert line in setup, f"{path.name}: the setup cell lacks `{line}` (see CONTRIBUTING.md)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_names_no_other_repository(path):
    text = all_sources(path)
    for url in re.findall(r"vizlib @ git\+(\S+?)\"", text):
        assert url == URL, f"{path.name} installs vizlib from {url}, _config.yml says {URL}"
    for url in re.findall(r"https://colab\.research\.google\.com/github/\S+", text):
        assert url.startswith(COLAB_PREFIX), f"{path.name}: {url}"
    for url in re.findall(r"https://[\w-]+\.github\.io/[\w.-]+", text):
        assert PAGES_URL.startswith(url), f"{path.name}: {url}"


@pytest.mark.parametrize("path", [p for p in toc_docnames() if (ROOT / f"{p}.ipynb").is_file()])
def test_notebook_is_stored_executed_without_timing_metadata_or_errors(path):
    nb = nbformat.read(ROOT / f"{path}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    unexecuted = [i for i, c in enumerate(nb.cells) if c in code and c.execution_count is None]
    assert code and not unexecuted, \
        f"{path}: cells {unexecuted} not stored executed (run `python scripts/run_notebooks.py {path}.ipynb`)"
    assert not [c for c in nb.cells if "execution" in c.metadata], f"{path}: per-cell timing metadata is stored"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path}: a stored output is an error"
    markdown = [re.sub(r"^(```|~~~).*?^\1", "", c.source, flags=re.MULTILINE | re.DOTALL)
                for c in nb.cells if c.cell_type == "markdown"]  # without fenced code blocks
    titles = [line for text in markdown for line in text.splitlines() if re.match(r"# \S", line)]
    assert len(titles) == 1, f"{path}: needs exactly one `# ` title, found {titles}"


def test_readme_links_and_commands_agree_with_config():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert URL in readme
    assert PAGES_URL in readme
    assert f"{COLAB_PREFIX}chapters/intro.ipynb" in readme
    for url in re.findall(r"https://colab\.research\.google\.com/github/[^\s)>\]]+", readme):
        assert url.startswith(COLAB_PREFIX), url
    for url in re.findall(r"https://[\w-]+\.github\.io/[\w.-]+", readme):
        assert PAGES_URL.startswith(url), url
    for org, name in re.findall(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?(?=[\s)>\]/]|$)", readme):
        if org.lower() == ORG.lower():
            assert name == NAME, f"README links to {org}/{name}, _config.yml says {ORG}/{NAME}"
    assert f"```bash\n{BUILD_COMMAND}\n```" in readme
    assert f"```bash\n{TEST_COMMAND}\n```" in readme
    assert re.search(r"^## Speed$", readme, re.MULTILINE), "the README's Speed section is missing"
    image = re.search(r"!\[[^\]]*\]\(([^)]+)\)", readme)
    assert image and (ROOT / image[1]).is_file(), "the README's picture is missing"


def test_contributing_setup_cell_agrees_with_config():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert INSTALL_LINE in text
    assert not [u for u in re.findall(r"vizlib @ git\+(\S+?)\"", text) if u != URL]


WORKFLOWS = ROOT / ".github" / "workflows"
SCHEDULED = {"imagenet.yml", "colab.yml", "links.yml", "nightly.yml"}


def workflow(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def steps_run(doc: dict) -> list[str]:
    return [step["run"] for job in doc["jobs"].values() for step in job.get("steps", []) if "run" in step]


def test_ci_runs_the_readme_commands_in_order():
    ci = ROOT / ".ci" / "run"
    assert ci.stat().st_mode & 0o111, ".ci/run is not executable"
    ci_text = ci.read_text(encoding="utf-8")
    assert ci_text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in ci_text
    assert BUILD_COMMAND in ci_text and TEST_COMMAND in ci_text
    assert ci_text.index(BUILD_COMMAND) < ci_text.index(TEST_COMMAND)


def test_workflows_are_valid_and_name_no_repository():
    names = {w.name for w in WORKFLOWS.glob("*.yml")}
    assert names == {"book.yml", "gpu.yml", "report-failure.yml"} | SCHEDULED, names
    for name in sorted(names):
        doc = workflow(name)
        assert doc["on"] and doc["jobs"], name
        text = (WORKFLOWS / name).read_text(encoding="utf-8")
        for needle in (URL, f"{ORG}/{NAME}", "github.io", NAME):
            assert needle.lower() not in text.lower(), f"{name} names the repository ({needle})"


@pytest.mark.parametrize("name, commands", [
    ("book.yml", (BUILD_COMMAND, TEST_COMMAND)), ("gpu.yml", (BUILD_COMMAND,)),
    ("nightly.yml", (BUILD_COMMAND, TEST_COMMAND)), ("imagenet.yml", (BUILD_COMMAND,)),
    ("links.yml", (BUILD_COMMAND,)),
])
def test_workflows_run_the_readme_commands(name, commands):
    runs = steps_run(workflow(name))
    for command in commands:
        assert any(command in run for run in runs), f"{name} does not run `{command}`"
    if len(commands) == 2:
        build = next(i for i, r in enumerate(runs) if BUILD_COMMAND in r)
        assert any(TEST_COMMAND in r for r in runs[build + 1:]), f"{name} tests before it builds"


def test_gpu_workflow_runs_on_gpu_runners():
    assert all(job["runs-on"] == "gpu" for job in workflow("gpu.yml")["jobs"].values())


@pytest.mark.parametrize("name", sorted(SCHEDULED))
def test_scheduled_workflows_report_a_failure_in_one_issue(name):
    doc = workflow(name)
    assert doc["on"]["schedule"] and "workflow_dispatch" in doc["on"], name
    callers = [job for job in doc["jobs"].values() if job.get("uses") == "./.github/workflows/report-failure.yml"]
    assert len(callers) == 1, f"{name} must call report-failure.yml once"
    job = callers[0]
    assert "failure()" in job["if"] and "schedule" in job["if"]
    assert set(job["needs"] if isinstance(job["needs"], list) else [job["needs"]]) == set(doc["jobs"]) - {"report"}
    assert job["permissions"] == {"issues": "write"}
    report = workflow("report-failure.yml")
    assert set(report["on"]) == {"workflow_call"}
    script = steps_run(report)[0]
    assert "gh issue list" in script and "gh issue comment" in script and "gh issue create" in script


def test_imagenet_workflow_builds_every_chapter_with_trained_alexnet_and_vgg16():
    job = workflow("imagenet.yml")["jobs"]["chapters"]
    assert job["strategy"]["matrix"]["model"] == ["alexnet", "vgg16"]
    assert job["env"]["VIZLIB_MODEL"] == "${{ matrix.model }}" and "VIZLIB_WEIGHTS" not in job["env"]
    upload = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert upload and "_build/jupyter_execute" in upload[0]["with"]["path"]


def test_colab_workflow_runs_every_chapter_in_the_colab_image():
    job = workflow("colab.yml")["jobs"]["chapters"]
    assert job["container"]["image"].startswith("us-docker.pkg.dev/colab-images/public/runtime")
    runs = steps_run(workflow("colab.yml"))
    assert any(r.strip() == "python3 -m pip install -q ." for r in runs)
    assert any("scripts/run_notebooks.py" in r and "toc_notebooks()" in r for r in runs)


def test_nightly_lifts_exactly_the_upper_bounds(tmp_path):
    lift = next(r for r in steps_run(workflow("nightly.yml")) if "requirements.txt" in r and "sed" in r)
    req = tmp_path / "requirements.txt"
    shutil.copy(ROOT / "requirements.txt", req)
    subprocess.run(["bash", "-c", lift], cwd=tmp_path, check=True, capture_output=True)

    def specs(text):
        out = {}
        for line in text.splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-"):
                name = re.match(r"[A-Za-z0-9_.-]+", line)[0]
                out[name] = line[len(name):].replace(" ", "")
        return out

    before, after = specs((ROOT / "requirements.txt").read_text()), specs(req.read_text())
    assert before.keys() == after.keys()
    assert any("<" in v for v in before.values())
    for name, spec in before.items():
        lower = ",".join(part for part in spec.split(",") if not part.startswith("<"))
        assert after[name] == lower, (name, spec, after[name])


def test_web_assets_are_vendored_outside_the_auto_loaded_static_folder():
    sphinx = CONFIG["sphinx"]["config"]
    assert not (ROOT / "_static").exists(), \
        "Jupyter Book loads every .js under _static/ on every page: keep assets in _assets/"
    static = [ROOT / p for p in sphinx["html_static_path"]]
    assert static and all(p.is_dir() for p in static)
    for rel in [sphinx["mathjax_path"], *sphinx["nb_ipywidgets_js"]]:
        assert "://" not in rel, f"{rel} would be loaded from the network"
        assert any((p / rel).is_file() for p in static), f"{rel} is not in {sphinx['html_static_path']}"
    total = sum(f.stat().st_size for p in static for f in p.rglob("*") if f.is_file())
    assert total < 8 * 2**20, f"vendored assets grew to {total / 2**20:.1f} MiB"


def test_set_repository_rewrites_every_copy_for_a_fork(tmp_path):
    """A fork edits _config.yml once; the script brings the notebooks and README along."""
    for rel in ("_config.yml", "README.md", "CONTRIBUTING.md"):
        shutil.copy(ROOT / rel, tmp_path / rel)
    (tmp_path / "chapters").mkdir()
    for nb in NOTEBOOKS[:2]:
        shutil.copy(nb, tmp_path / "chapters" / nb.name)
    # the Korean edition's copies: its Colab notebooks and the catalogues that quote links
    (tmp_path / "ko" / "chapters").mkdir(parents=True)
    for nb in NOTEBOOKS[:2]:
        shutil.copy(ROOT / "ko" / "chapters" / nb.name, tmp_path / "ko" / "chapters" / nb.name)
    # a catalogue whose message and translation quote the Colab and website addresses (none of
    # the book's catalogues does today; one that did would have to follow a fork)
    catalogue = tmp_path / "locales" / "ko" / "LC_MESSAGES" / "chapters" / "intro.po"
    catalogue.parent.mkdir(parents=True)
    link = f"{COLAB_PREFIX}chapters/intro.ipynb"
    catalogue.write_text(f'msgid ""\nmsgstr ""\n\nmsgid "Open [it]({link}) or read {PAGES_URL}."\n'
                         f'msgstr "[이것]({link})을 열거나 {PAGES_URL}에서 읽는다."\n', encoding="utf-8")
    catalogues = [catalogue]
    config = (tmp_path / "_config.yml").read_text(encoding="utf-8")
    (tmp_path / "_config.yml").write_text(config.replace(f"url: {URL}", "url: https://github.com/Someone/my-fork"))
    script = ROOT / "scripts" / "set_repository.py"
    subprocess.run([sys.executable, str(script), "--root", str(tmp_path)], check=True, capture_output=True)

    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "https://someone.github.io/my-fork/" in readme
    assert "https://colab.research.google.com/github/Someone/my-fork/blob/main/chapters/intro.ipynb" in readme
    assert f"{ORG}/{NAME}" not in readme
    assert '%pip install -q "vizlib @ git+https://github.com/Someone/my-fork"' in \
        (tmp_path / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for nb in NOTEBOOKS[:2]:
        assert '%pip install -q "vizlib @ git+https://github.com/Someone/my-fork"\n' in \
            first_code_cell(tmp_path / "chapters" / nb.name)
        assert '%pip install -q "vizlib @ git+https://github.com/Someone/my-fork"\n' in \
            first_code_cell(tmp_path / "ko" / "chapters" / nb.name)
    for p in catalogues:
        text = p.read_text(encoding="utf-8")
        assert f"{ORG}/{NAME}" not in text and f"{ORG.lower()}.github.io" not in text, text
        assert text.count("https://colab.research.google.com/github/Someone/my-fork/blob/main/chapters/intro.ipynb") == 2
        assert text.count("https://someone.github.io/my-fork/") == 2
    check = subprocess.run([sys.executable, str(script), "--root", str(tmp_path), "--check"], capture_output=True)
    assert check.returncode == 0, check.stdout


def test_contributing_maps_every_module_of_vizlib():
    """CONTRIBUTING.md's "Where each method lives" names every module file of the package."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("## Where each method lives", 1)[1].split("\n## ", 1)[0]
    missing = []
    for path in sorted((ROOT / "vizlib").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if path.name in ("__init__.py", "_common.py"):
            continue
        if rel not in section and not (path.parent.name != "vizlib" and f"`{path.name}`" in section) \
                and not (path.parent.name == "checks"):
            missing.append(rel)
    assert not missing, missing
