"""Copy the repository URL from ``_config.yml`` into the files that need their own copy.

    python scripts/set_repository.py           # rewrite the copies in place
    python scripts/set_repository.py --check   # only report; exit 1 if a copy disagrees

``_config.yml`` (``repository.url`` and ``repository.branch``) is the one place where the
repository is named; a fork changes it there and runs this script (the README's build command
does). The derived copies are:

- the Colab install line in every notebook's setup cell, ``%pip install -q "vizlib @ git+<url>"``
  (``chapters/*.ipynb`` and the Korean ``ko/chapters/*.ipynb``; also the example in
  ``CONTRIBUTING.md``);
- links in ``README.md`` and the Markdown pages: the repository itself, the website on GitHub
  Pages (``https://<org>.github.io/<repo>/``) and Colab
  (``https://colab.research.google.com/github/<org>/<repo>/blob/<branch>/...``), and the same
  links in the Korean catalogues ``locales/**/*.po`` (source and translation alike).

Plain ``https://github.com/<org>/<repo>`` links are rewritten only for the repository that a
file already names in one of the forms above, so links to other projects stay as they are.
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]

_NAME = r"[A-Za-z0-9_.-]*[A-Za-z0-9_-]"  # a GitHub owner, repository or branch name (no trailing dot)
INSTALL_RE = re.compile(rf"(vizlib @ git\+)https://github\.com/({_NAME})/([A-Za-z0-9_.-]*?[A-Za-z0-9_-])(?:\.git)?(?=[\"'\s@]|$)")
COLAB_RE = re.compile(rf"https://colab\.research\.google\.com/github/({_NAME})/({_NAME})/blob/({_NAME})/")
PAGES_RE = re.compile(rf"https://([A-Za-z0-9-]+)\.github\.io/({_NAME})(?=[/\s)\"'>\],#]|\.(?:\s|$)|$)")


@dataclass(frozen=True)
class Repository:
    """A GitHub repository as configured in ``_config.yml``."""

    org: str
    name: str
    branch: str = "main"

    @property
    def url(self) -> str:
        return f"https://github.com/{self.org}/{self.name}"

    @property
    def pages_url(self) -> str:
        """The GitHub Pages address of the built book (with a trailing slash)."""
        return f"https://{self.org.lower()}.github.io/{self.name}/"

    @property
    def colab_prefix(self) -> str:
        """Prefix of every notebook's Colab address; append ``chapters/<name>.ipynb``."""
        return f"https://colab.research.google.com/github/{self.org}/{self.name}/blob/{self.branch}/"

    @property
    def install_line(self) -> str:
        return f'%pip install -q "vizlib @ git+{self.url}"'


def read_repository(root: Path = ROOT) -> Repository:
    """The repository named in ``root/_config.yml``; ``ValueError`` if it is not a GitHub URL."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    repo = (config or {}).get("repository") or {}
    url = str(repo.get("url", "")).strip().rstrip("/")
    match = re.fullmatch(rf"https://github\.com/({_NAME})/([A-Za-z0-9_.-]*?[A-Za-z0-9_-])(?:\.git)?", url)
    if match is None:
        raise ValueError(f"_config.yml repository.url must look like https://github.com/<org>/<repo>; got {url!r}")
    return Repository(match[1], match[2], str(repo.get("branch") or "main"))


def rewrite(text: str, repo: Repository) -> str:
    """``text`` with every derived copy of the repository address replaced by ``repo``'s."""
    old = {(m[2].lower(), m[3].lower()) for m in INSTALL_RE.finditer(text)}
    old |= {(m[1].lower(), m[2].lower()) for m in COLAB_RE.finditer(text)}
    old |= {(m[1].lower(), m[2].lower()) for m in PAGES_RE.finditer(text)}
    text = INSTALL_RE.sub(lambda m: f"{m[1]}{repo.url}", text)
    text = COLAB_RE.sub(repo.colab_prefix, text)
    text = PAGES_RE.sub(repo.pages_url.rstrip("/"), text)
    for org, name in old:
        plain = re.compile(rf"https://github\.com/{re.escape(org)}/{re.escape(name)}(?=[/\s)\"'>\],#]|\.(?:git|\s|$)|$)", re.IGNORECASE)
        text = plain.sub(repo.url, text)
    return text


def derived_files(root: Path = ROOT) -> list[Path]:
    """The files that carry a copy of the repository address."""
    files = [root / "README.md", root / "CONTRIBUTING.md"]
    files += sorted((root / "chapters").glob("*.ipynb")) + sorted((root / "chapters").glob("*.md"))
    # the Korean edition: its Colab notebooks and the catalogues (whose messages quote the links)
    files += sorted((root / "ko" / "chapters").glob("*.ipynb")) + sorted((root / "locales").rglob("*.po"))
    return [f for f in files if f.exists()]


def update(path: Path, repo: Repository, write: bool = True) -> bool:
    """Rewrite one file; return True if it changed (or, with ``write=False``, would change)."""
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        changed = False
        for cell in nb.cells:
            new = rewrite(cell.source, repo)
            if new != cell.source:
                cell.source, changed = new, True
        if changed and write:
            nbformat.write(nb, path)
        return changed
    text = path.read_text(encoding="utf-8")
    new = rewrite(text, repo)
    if new != text and write:
        path.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that disagree; exit 1 if any")
    parser.add_argument("--root", type=Path, default=ROOT, help="the book's root folder")
    args = parser.parse_args(argv)
    repo = read_repository(args.root)
    changed = [p for p in derived_files(args.root) if update(p, repo, write=not args.check)]
    for p in changed:
        print(f"{'disagrees with' if args.check else 'updated from'} _config.yml: {p.relative_to(args.root)}")
    if not changed:
        print(f"all copies agree with _config.yml: {repo.url} (branch {repo.branch})")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
