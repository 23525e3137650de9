"""An Otter Wiki as the peer: installed in its own venv, loaded with the same pages, on loopback.

Nothing of it is committed: ``ensure_installed`` makes ``bench/.peer-venv`` (git-ignored) and
installs the pinned ``otterwiki`` and ``gunicorn`` from PyPI; ``load`` writes every generated
revision as a git commit (``git fast-import``, page by page, each page's revisions in order)
into a repository of its own, so page history is as long as Atrium's. Reading and writing are
anonymous (``READ_ACCESS``/``WRITE_ACCESS = "ANONYMOUS"``, An Otter Wiki's default) and CSRF
protection stays on: a save client fetches the editor once for its token, then posts saves.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import httpx

from bench.dataset import Dataset
from bench.loadgen import Step, StepMaker
from bench.procs import Server

HERE = Path(__file__).parent
VENV = HERE.parent / ".peer-venv"
PACKAGES = ["otterwiki==2.26.1", "gunicorn==23.0.0"]


def ensure_installed() -> Path:
    """The peer's venv, created and filled when missing; returns its bin directory."""
    bin_dir = VENV / "bin"
    if not (bin_dir / "gunicorn").exists() or not (bin_dir / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(bin_dir / "pip"), "install", "--quiet", *PACKAGES],
            check=True,
        )
    return bin_dir


def _stamp(value: str) -> int:
    return int(datetime.fromisoformat(value).timestamp())


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n%s\n" % (len(raw), raw)


def load(dataset: Dataset, target: Path) -> Path:
    """A git repository at ``target`` holding every revision of every generated page."""
    repo = target / "repository"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    importer = subprocess.Popen(
        ["git", "-C", str(repo), "fast-import", "--quiet"], stdin=subprocess.PIPE
    )
    assert importer.stdin is not None
    for rev in dataset.revisions():  # page by page: each file's history in order
        author = rev.author_id - 1
        who = f"user{author} <user{author}@bench.invalid> {_stamp(rev.created_at)} +0000"
        importer.stdin.write(
            b"commit refs/heads/main\nauthor %s\ncommitter %s\n" % (who.encode(), who.encode())
        )
        importer.stdin.write(_data(f"{rev.slug}: bench revision {rev.number}"))
        importer.stdin.write(b"M 644 inline %s.md\n" % rev.slug.lower().encode())
        importer.stdin.write(_data(rev.text) + b"\n")
    importer.stdin.close()
    if importer.wait() != 0:
        raise RuntimeError("git fast-import failed")
    subprocess.run(["git", "-C", str(repo), "read-tree", "-u", "--reset", "HEAD"], check=True)
    settings = target / "settings.cfg"
    settings.write_text(
        f"REPOSITORY = {str(repo)!r}\n"
        f"SQLALCHEMY_DATABASE_URI = {'sqlite:///' + str(target / 'users.db')!r}\n"
        "SECRET_KEY = 'bench-peer-secret-key'\n"
        "SITE_NAME = 'Peer'\n"
        "READ_ACCESS = 'ANONYMOUS'\n"
        "WRITE_ACCESS = 'ANONYMOUS'\n"
        "LOG_LEVEL = 'WARNING'\n"
    )
    return settings


def server(target: Path, *, port: int, workers: int, log: Path) -> Server:
    """gunicorn serving An Otter Wiki from ``target``, with its default (sync) workers.

    Threaded workers (``gthread``) were tried: An Otter Wiki's renderer keeps per-request state
    on a shared object and fails under threads (``KeyError: 'PAGE_URL'`` in ``renderer.py``).
    """
    bin_dir = ensure_installed()
    return Server(
        name="otterwiki",
        command=[
            str(bin_dir / "gunicorn"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "otterwiki.server:app",
        ],
        port=port,
        log=log,
        env={"OTTERWIKI_SETTINGS": str(target / "settings.cfg")},
        cwd=target,
    )


def view_paths(slugs: list[str]) -> list[str]:
    """Page views of these pages."""
    return [f"/{s}" for s in slugs]


def history_path(slug: str) -> str:
    """A page's history."""
    return f"/{slug}/history"


def search_path(query: str) -> str:
    """The search results for ``query`` (An Otter Wiki matches it as one literal string)."""
    return "/-/search/" + quote(query, safe="")


def save_steps(bodies: dict[str, str]) -> StepMaker:
    """Client ``n`` saves the ``n``-th page again and again through the editor's form."""
    slugs = list(bodies)

    async def make(client: httpx.AsyncClient, n: int) -> Step:
        slug = slugs[n]
        editor = await client.get(f"/{slug}/edit")
        token = re.search(r'name="csrf_token" value="([^"]+)"', editor.text)
        if token is None:
            raise RuntimeError(f"no CSRF token in An Otter Wiki's editor ({editor.status_code})")
        body = bodies[slug]
        count = 0

        async def step(client: httpx.AsyncClient, n: int) -> bool:
            nonlocal count
            count += 1
            form = {
                "content": f"{body}\nBench edit {n}-{count}.\n",
                "commit": f"bench edit {count}",
                "csrf_token": token.group(1),
            }
            response = await client.post(f"/{slug}/save", data=form)
            return response.status_code < 400

        return step

    return make
