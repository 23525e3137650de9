"""Where a page view and a save spend their time: py-spy on a live server, and SQL counts.

    .venv/bin/pip install py-spy          # once, into the venv (not a project dependency)
    .venv/bin/python -m bench.profile_server [--size small] [--seconds 12]

Starts ``atrium serve --workers 1`` on a copy of the cached data set, samples it with
``py-spy record`` (200 Hz, raw collapsed stacks kept in bench/.run/profile-*.txt) while wrk loads
page views (concurrency 4) and then while the httpx client saves pages through the API
(concurrency 2), and prints the application functions by share of the busy samples (inclusive;
idle threads left out). Then counts the SQL statements of one request of each screen in-process.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench import dataset, loadgen
from bench.generate import LONG_HISTORY
from bench.procs import Server, free_port
from bench.server_bench import ATRIUM, PASSWORD, WORK, atrium, atrium_saves

# a sample whose innermost function is one of these is a thread waiting, not working
IDLE = {"select", "wait", "_wait_for_tstate_lock", "poll", "epoll"}


def shares(raw: Path, top: int = 40) -> list[tuple[float, str]]:
    """(percent of busy samples, frame) for the application's frames, largest first."""
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        if frames[-1].split(" (")[0].rsplit(".", 1)[-1] in IDLE:  # "Condition.wait (…)"
            continue
        total += int(count)
        for frame in {re.sub(r":\d+\)", ")", f) for f in frames}:
            inclusive[frame] += int(count)
    found = [
        (100 * n / total, frame)
        for frame, n in inclusive.most_common()
        if "(app/" in frame or "(jinja2/environment.py)" in frame
    ]
    return found[:top]


def record(server: Server, name: str, seconds: float, load: Callable[[], loadgen.Run]) -> None:
    """Sample ``server`` with py-spy while ``load`` runs; print the shares."""
    out = WORK / f"profile-{name}.txt"
    spy = Path(sys.executable).with_name("py-spy")
    sampler = subprocess.Popen(
        [
            str(spy),
            "record",
            *("-p", str(server.process.pid if server.process else 0), "--subprocesses"),
            *("-d", str(int(seconds) + 2), "-r", "200", "-f", "raw", "-o", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    run = load()
    sampler.wait()
    print(f"\n{name}: {run.rps:.1f} req/s, server CPU {run.server_cpu_ms:.1f} ms per request")
    for share, frame in shares(out):
        print(f"  {share:5.1f}%  {frame}")


def count_queries(data: Path, slug: str) -> None:
    """SQL statements per request of each screen, in-process (indexer and webhooks off)."""
    from fastapi.testclient import TestClient

    from app.core.config import Settings
    from app.main import create_app

    counts: collections.Counter[str] = collections.Counter()

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(*_args: object) -> None:
        counts["statements"] += 1

    settings = Settings(data_dir=data, search_indexer=False, webhook_worker=False)
    print("\nSQL statements per request (second request of each, caches warm)")
    with TestClient(create_app(settings)) as client:
        for url in (
            f"/wiki/{slug}",
            f"/history/{LONG_HISTORY}",
            f"/diff/{LONG_HISTORY}?from=10&to=490",
            "/recent",
            "/search?q=service",
        ):
            client.get(url)
            counts.clear()
            status = client.get(url).status_code
            print(f"  {counts['statements']:4d}  {url} ({status})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(dataset.SIZES), default="small")
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--shares", type=Path, help="only print the shares of a raw profile")
    args = parser.parse_args()
    if args.shares:
        for share, frame in shares(args.shares, top=60):
            print(f"  {share:5.1f}%  {frame}")
        return
    ds = dataset.ensure(args.size)
    data = ds.copy_to(WORK / "profile")
    atrium("migrate", data_dir=data)
    atrium("reindex", data_dir=data)  # else the indexer's catch-up fills the profile
    atrium("user", "add", "bench", "--role", "admin", "--password", PASSWORD, data_dir=data)
    token = atrium("token", "create", "bench", data_dir=data)[2].strip().splitlines()[-1]
    slugs = ds.slugs(200)
    port = free_port()
    with Server(
        name="atrium",
        command=[str(ATRIUM), "serve", "--port", str(port), "--workers", "1"],
        port=port,
        log=WORK / "profile.log",
        env={"ATRIUM_DATA_DIR": str(data)},
    ) as server:
        views = [f"/wiki/{s}" for s in slugs]
        record(
            server,
            "page view",
            args.seconds,
            lambda: loadgen.wrk(server, "page view", views, concurrency=4, seconds=args.seconds),
        )
        saves = atrium_saves(server.url, token, slugs)
        record(
            server,
            "edit save",
            args.seconds,
            lambda: loadgen.stateful(server, "save", saves, concurrency=2, seconds=args.seconds),
        )
    count_queries(data, slugs[5])


if __name__ == "__main__":
    main()
