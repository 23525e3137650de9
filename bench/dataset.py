"""Benchmark data sets, generated once per size and kept under bench/.data/ (git-ignored).

A data set is a migrated data dir (SQLite) made by ``bench.generate``, its counts in
``meta.json`` and the pages exported as markdown (what ``atrium import`` is timed on). The cache
key includes a hash of the generator's source, so changing the generator regenerates. Runs work
on a copy, never on the cached set.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.generate import LONG_HISTORY

HERE = Path(__file__).parent
CACHE = HERE / ".data"


@dataclass(frozen=True)
class Size:
    """The generator's arguments for one size."""

    pages: int
    revisions: int
    comments: int
    decisions: int
    long_history: int = 500
    workshop_ideas: int = 40


SIZES = {
    # a few minutes in all on two cores
    "small": Size(pages=1_000, revisions=5, comments=5_000, decisions=50),
    # issue #8: 10,000 pages of ~20 revisions, 50,000 comments, 500 decisions
    "full": Size(pages=10_000, revisions=20, comments=50_000, decisions=500),
}


@dataclass(frozen=True)
class Dataset:
    """A generated data set on disk."""

    name: str
    root: Path
    meta: dict[str, int]

    @property
    def data_dir(self) -> Path:
        """The cached data dir (copy it before use)."""
        return self.root / "data"

    @property
    def markdown(self) -> Path:
        """The pages exported as markdown with front matter."""
        return self.root / "markdown"

    def copy_to(self, target: Path) -> Path:
        """A fresh copy of the data dir at ``target``."""
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.data_dir, target)
        return target

    def slugs(self, limit: int) -> list[str]:
        """The first ``limit`` generated page slugs (the long-history page left out)."""
        with sqlite3.connect(self.data_dir / "atrium.sqlite3") as db:
            rows = db.execute(
                "SELECT slug FROM page WHERE slug != ? ORDER BY id LIMIT ?", (LONG_HISTORY, limit)
            )
            return [r[0] for r in rows]

    def bodies(self, slugs: list[str]) -> dict[str, str]:
        """The current text of these pages, as generated."""
        heads = {r.slug: r.text for r in self.revisions(slugs) if r.head}
        return {slug: heads[slug] for slug in slugs}

    def revisions(self, slugs: Sequence[str] = ()) -> Iterator[RevisionText]:
        """Every revision's text (or only these pages'), page by page, oldest first (whatever
        the storage format)."""
        with sqlite3.connect(self.data_dir / "atrium.sqlite3") as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(revision)")}
            plain = "body" in columns
            rows = db.execute(
                f"SELECT r.page_id, p.slug, r.number, p.head, "
                f"{'r.body' if plain else 'r.encoded_body'}, r.created_at, "
                "coalesce(r.author_id, 1) FROM revision r JOIN page p ON p.id = r.page_id "
                + (f"WHERE p.slug IN ({','.join('?' * len(slugs))}) " if slugs else "")
                + "ORDER BY r.page_id, r.number",
                list(slugs),
            )
            for _page, group in itertools.groupby(rows, key=lambda row: row[0]):
                history = list(group)
                stored = [row[4] for row in history]
                texts = stored if plain else _decode_chain(stored)
                for row, text in zip(history, texts, strict=True):
                    yield RevisionText(row[1], row[2], row[2] == row[3], text, row[5], row[6])


@dataclass(frozen=True)
class RevisionText:
    """One revision as the peer loader and the save clients need it."""

    slug: str
    number: int
    head: bool
    text: str
    created_at: str
    author_id: int


def _decode_chain(blobs: Sequence[bytes]) -> list[str]:
    # compressed revision storage (app.pages.storage), looked up at run time so the bench
    # also reads data sets made before it existed
    storage = importlib.import_module("app.pages.storage")
    texts: list[str] = storage.decode_chain(blobs)
    return texts


def _generator_hash() -> str:
    digest = hashlib.sha256()
    for name in ("generate.py", "activity.py"):
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()[:12]


def _atrium(*args: str, data_dir: Path) -> None:
    atrium = Path(sys.executable).with_name("atrium")
    env = {**os.environ, "ATRIUM_DATA_DIR": str(data_dir), "ATRIUM_SEARCH_INDEXER": "false"}
    subprocess.run([str(atrium), *args], check=True, env=env, stdout=subprocess.DEVNULL)


def ensure(name: str) -> Dataset:
    """The data set ``name`` (small or full), generated when not cached yet."""
    size = SIZES[name]
    root = CACHE / f"{name}-{_generator_hash()}"
    meta_file = root / "meta.json"
    if meta_file.exists():
        return Dataset(name, root, json.loads(meta_file.read_text()))
    from app.core.config import Settings
    from bench.generate import generate

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    print(f"generating the {name} data set in {root} …", flush=True)
    started = time.perf_counter()
    settings = Settings(data_dir=root / "data", secret_key="bench")
    meta = generate(
        settings,
        pages=size.pages,
        comments=size.comments,
        revisions=size.revisions,
        decisions=size.decisions,
        long_history=size.long_history,
        workshop_ideas=size.workshop_ideas,
    )
    _atrium("export", str(root / "markdown"), data_dir=root / "data")
    meta["generate_seconds"] = round(time.perf_counter() - started)
    meta_file.write_text(json.dumps(meta, indent=1))
    return Dataset(name, root, meta)
