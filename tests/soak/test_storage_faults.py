"""A full disk or a read-only data dir gives a clear error and stores nothing partial; once the
storage is back, the wiki carries on with its data intact."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.accounts.models import Role
from tests.soak.conftest import Server, client, prepare


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MB file system of its own as the data dir (tmpfs; needs root, as in CI)."""
    data = tmp_path / "data"
    data.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(data)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.decode().strip()}")
    yield data
    subprocess.run(["umount", "-l", str(data)], check=False)


def _fill(path: Path) -> Path:
    """Take every free byte of the file system (unbuffered, down to 512-byte writes)."""
    filler = path / "filler.bin"
    with filler.open("wb", buffering=0) as out:
        for chunk in (1 << 20, 1 << 12, 1 << 9):
            try:
                while True:
                    out.write(b"\0" * chunk)
            except OSError:
                continue
    return filler


def _integrity(data: Path) -> None:
    conn = sqlite3.connect(data / "atrium.sqlite3")
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def _searchable(c: object, word: str, path: str) -> bool:
    import httpx

    assert isinstance(c, httpx.Client)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        hits = c.get("/api/v1/search", params={"q": word}).json()["hits"]
        if any(hit["path"] == path for hit in hits):
            return True
        time.sleep(0.3)
    return False


def test_full_disk_gives_a_clear_error_and_nothing_partial(small_disk: Path) -> None:
    tokens = prepare(small_disk, {"alice": Role.editor})
    server = Server(small_disk)
    server.start()
    try:
        with client(server, tokens["alice"]) as c:
            assert c.put("/api/v1/pages/ops/a", json={"title": "A", "body": "kept\n"}).is_success
            filler = _fill(small_disk)
            big = "x " * 200_000 + "\nquokkafull\n"
            refused = c.put("/api/v1/pages/ops/b", json={"title": "B", "body": big})
            assert refused.status_code == 507, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert "disk is full" in refused.json()["detail"]
            # people reading the wiki see a page, not a crash
            html = c.get("/wiki/ops/a", headers={"Accept": "text/html"})
            assert html.status_code == 200
            assert "kept" in html.text

            filler.unlink()
            again = c.put("/api/v1/pages/ops/b", json={"title": "B", "body": big})
            assert again.status_code == 200, again.text
            assert again.json()["revision"]["number"] == 1  # the refused save left nothing
            assert _searchable(c, "quokkafull", "ops/b")
    finally:
        server.stop()
    _integrity(small_disk)


def test_read_only_data_dir_gives_a_clear_error(small_disk: Path) -> None:
    tokens = prepare(small_disk, {"alice": Role.editor})
    server = Server(small_disk)
    server.start()
    with client(server, tokens["alice"]) as c:
        assert c.put("/api/v1/pages/ops/a", json={"title": "A", "body": "one\n"}).is_success
    server.stop()
    # a disk the kernel remounted read-only after an error, say
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        server.start(healthy=False)
        with client(server, tokens["alice"]) as c:
            refused = c.put("/api/v1/pages/ops/a", json={"base": 1, "title": "A", "body": "2\n"})
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert "read-only" in refused.json()["detail"]
            page = c.get("/wiki/ops/a", headers={"Accept": "text/html"})
            # SQLite in WAL mode cannot even read from a read-only directory: a clear page
            assert page.status_code in (200, 503)
            if page.status_code == 503:
                assert "data directory is read-only" in page.text
            assert c.get("/healthz").status_code == 503  # the load balancer hears of it too
        server.stop()
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    server.start()
    try:
        with client(server, tokens["alice"]) as c:
            saved = c.put("/api/v1/pages/ops/a", json={"base": 1, "title": "A", "body": "3\n"})
            assert saved.status_code == 200, saved.text
            assert saved.json()["revision"]["number"] == 2  # the refused save left nothing
    finally:
        server.stop()
    _integrity(small_disk)
