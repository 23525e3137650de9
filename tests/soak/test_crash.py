"""SIGKILL in the middle of a write load: after a restart every acknowledged write is there,
the database is consistent and the search index catches up."""

from __future__ import annotations

import sqlite3
import string
import threading
import time

import httpx

from app.accounts.models import Role
from tests.soak.conftest import Server, client, prepare

WRITERS = 6


def _word(i: int, n: int) -> str:
    # a made-up word per save, so search can tell exactly which saves were indexed
    letters = string.ascii_lowercase
    return "zq" + letters[i] + "".join(letters[int(d)] for d in f"{n:04d}") + "x"


def test_sigkill_mid_write_loses_no_acknowledged_write(server: Server) -> None:
    users = {f"w{i}": Role.editor for i in range(WRITERS)}
    tokens = prepare(server.data_dir, users)
    server.start()
    acked: dict[int, list[tuple[int, str]]] = {i: [] for i in range(WRITERS)}
    started = threading.Event()

    def writer(i: int) -> None:
        with client(server, tokens[f"w{i}"]) as c:
            head = 0
            for n in range(1, 10_000):
                word = _word(i, n)
                try:
                    r = c.put(
                        f"/api/v1/pages/crash/p{i}",
                        json={"base": head, "title": f"Page {i}", "body": f"Saved {word}.\n"},
                    )
                except httpx.HTTPError:
                    return  # the server died: this save was never acknowledged
                assert r.status_code == 200, r.text
                head = r.json()["revision"]["number"]
                acked[i].append((head, word))
                if n == 5:
                    started.set()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    assert started.wait(60)
    time.sleep(2.0)  # let the load run, then pull the plug without warning
    server.kill()
    for t in threads:
        t.join(timeout=60)
    assert all(acked.values())

    conn = sqlite3.connect(server.data_dir / "atrium.sqlite3")
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()

    server.start()
    current: dict[int, str] = {}  # the word of each page's current text, as it survived
    with client(server, tokens["w0"]) as c:
        for i, saves in acked.items():
            page = c.get(f"/api/v1/pages/crash/p{i}").json()
            current[i] = page["body"].split()[-1].rstrip(".")
            last_rev, last_word = saves[-1]
            # the page may hold one more save that was written but not yet acknowledged
            assert page["head"] in (last_rev, last_rev + 1)
            for number, word in saves[-20:]:
                rev = c.get(f"/api/v1/pages/crash/p{i}/revisions/{number}").json()
                assert word in rev["body"], f"acknowledged save {number} of p{i} is gone"
            if page["head"] == last_rev:
                assert last_word in page["body"]
        # the search index catches up with what was saved before the crash: the current text,
        # which is the last acknowledged save or the one written but not acknowledged after it
        deadline = time.monotonic() + 30
        missing = set(range(WRITERS))
        while missing and time.monotonic() < deadline:
            for i in list(missing):
                word = current[i]
                found = c.get("/api/v1/search", params={"q": word}).json()
                if any(hit["path"] == f"crash/p{i}" for hit in found["hits"]):
                    missing.discard(i)
            time.sleep(0.3)
        assert not missing, f"the index never caught up with pages {sorted(missing)}"
