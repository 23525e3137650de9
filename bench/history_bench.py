"""Issue #8, a subset of ``bench.server_bench``: history, diff, recent changes and API saves.

    .venv/bin/python -m bench.history_bench [--size small] [--seconds 5] [--workers 2]
        [--only history,diff,recent,save] [--concurrency 1,8] [--profile]

Same server, data set and load clients as ``bench.server_bench`` (``atrium serve --workers 2`` on
a copy of the cached data set, wrk for GETs, the httpx client for saves), but only these
scenarios, in a run dir of its own (bench/.run-history/, so it does not disturb a full run), and
at the concurrencies asked for. Prints the same line per run: req/s, p50/p95, server CPU per
request, 1-minute load average. ``--profile`` also samples the server with py-spy during each
run and prints the application's functions by share of busy samples (see bench.profile_server).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench import dataset, loadgen
from bench.generate import LONG_HISTORY
from bench.procs import Server, free_port
from bench.server_bench import ATRIUM, PASSWORD, atrium, atrium_saves

WORK = Path(__file__).parent / ".run-history"

GETS = {
    "history": ("history (500 revisions)", [f"/history/{LONG_HISTORY}"]),
    "diff": ("diff (rev 10 → 490)", [f"/diff/{LONG_HISTORY}?from=10&to=490"]),
    "recent": ("recent changes", ["/recent"]),
}


def show(run: loadgen.Run) -> None:
    """One line per run, as bench.server_bench prints it."""
    print(
        f"  {run.scenario:<24} c={run.concurrency:<3} {run.rps:8.1f} req/s "
        f"p50 {run.p50_ms:7.1f} ms  p95 {run.p95_ms:7.1f} ms  cpu/req {run.server_cpu_ms:6.1f}"
        f" ms  errors {run.errors}  n {run.requests}  load {run.load_avg:.1f}"
        f"  conns {run.connections or '-'}",
        flush=True,
    )


def profiled(
    server: Server, name: str, seconds: float, load: Callable[[], loadgen.Run]
) -> loadgen.Run:
    """Run ``load`` under py-spy and print the application's shares of busy samples."""
    from bench.profile_server import shares

    out = WORK / f"profile-{name}.txt"
    spy = Path(sys.executable).with_name("py-spy")
    assert server.process is not None
    sampler = subprocess.Popen(
        [
            *(str(spy), "record", "-p", str(server.process.pid), "--subprocesses"),
            *("-d", str(int(seconds) + 2), "-r", "200", "-f", "raw", "-o", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    run = load()
    sampler.wait()
    show(run)
    for share, frame in shares(out, top=35):
        print(f"      {share:5.1f}%  {frame}")
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(dataset.SIZES), default="small")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", default="history,diff,recent,save")
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    only = args.only.split(",")
    levels = [int(c) for c in args.concurrency.split(",")]
    ds = dataset.ensure(args.size)
    data = ds.copy_to(WORK / "atrium")
    atrium("migrate", data_dir=data)
    atrium("reindex", data_dir=data)  # else the indexer's catch-up runs during the first runs
    atrium("user", "add", "bench", "--role", "admin", "--password", PASSWORD, data_dir=data)
    token = atrium("token", "create", "bench", data_dir=data)[2].strip().splitlines()[-1]
    slugs = ds.slugs(200)
    port = free_port()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with Server(
        name="atrium",
        command=[str(ATRIUM), "serve", "--port", str(port), "--workers", str(args.workers)],
        port=port,
        log=WORK / "atrium.log",
        env={"ATRIUM_DATA_DIR": str(data)},
    ) as server:
        for key in only:
            for c in levels:
                load: Callable[[], loadgen.Run]
                if key == "save":
                    make = atrium_saves(server.url, token, slugs)
                    load = partial(
                        loadgen.stateful,
                        server,
                        "edit save (API)",
                        make,
                        concurrency=c,
                        seconds=args.seconds,
                    )
                else:
                    scenario, paths = GETS[key]
                    loadgen.wrk(server, "warm-up", paths, concurrency=2, seconds=1)
                    load = partial(
                        loadgen.wrk, server, scenario, paths, concurrency=c, seconds=args.seconds
                    )
                if args.profile:
                    profiled(server, f"{key}-c{c}", args.seconds, load)
                else:
                    show(load())


if __name__ == "__main__":
    main()
