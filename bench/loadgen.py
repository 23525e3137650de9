"""Load clients: wrk for GETs, an httpx async client for requests that need state (saves).

Every run reports the same figures (``Run``): requests per second, p50/p95 latency, errors,
the server's CPU time per request (read from /proc around the run: on a shared machine wall
time includes waiting for a core, CPU time does not) and the load average when it ended.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench.procs import Server

LUA = Path(__file__).with_name("wrk_report.lua")


@dataclass
class Run:
    """One scenario at one concurrency."""

    scenario: str
    concurrency: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    errors: int
    server_cpu_ms: float  # server CPU time (all its processes) per request
    load_avg: float  # 1-minute load average at the end of the run
    # the run's open connections per server process, most first ("5/3"), sampled once during
    # it: the kernel gives each new connection to whichever worker accepts first, and a
    # connection stays with its worker, so at concurrency 8 a worker may serve 6 of 8 clients
    connections: str = ""

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return asdict(self)


def ensure_wrk() -> str:
    """Path of wrk, installed from Debian's packages when missing (we run as root here)."""
    found = shutil.which("wrk")
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    return shutil.which("wrk") or "wrk"


def wrk(
    server: Server,
    scenario: str,
    paths: Sequence[str],
    *,
    concurrency: int,
    seconds: float,
    cookie: str = "",
    base_url: str | None = None,
) -> Run:
    """GET ``paths`` in turn with ``concurrency`` connections for ``seconds``."""
    with tempfile.NamedTemporaryFile("w", suffix=".paths", delete=False) as fh:
        fh.write("\n".join(paths) + "\n")
        listing = fh.name
    threads = min(concurrency, 2)
    server.settle()
    cpu_before = server.cpu_seconds()
    split = _split_later(server, seconds)
    try:
        out = subprocess.run(
            [
                ensure_wrk(),
                f"-t{threads}",
                f"-c{concurrency}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "30s",
                "-s",
                str(LUA),
                base_url or server.url,
                "--",
                listing,
                cookie,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        Path(listing).unlink()
    cpu = server.cpu_seconds() - cpu_before
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    requests = int(data["requests"])
    duration = data["duration_us"] / 1e6
    errors = sum(int(v) for k, v in data.items() if k.startswith("errors_"))
    return Run(
        scenario=scenario,
        concurrency=concurrency,
        requests=requests,
        seconds=duration,
        rps=requests / duration if duration else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        errors=errors,
        server_cpu_ms=cpu * 1000 / requests if requests else 0.0,
        load_avg=os.getloadavg()[0],
        connections=split(),
    )


def connection_split(server: Server) -> str:
    """Established connections to the server's port per process, most first ("5/3")."""
    port = urlsplit(server.url).port
    try:
        out = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""
    per_pid = Counter(re.findall(r"pid=(\d+)", out))
    return "/".join(str(n) for n in sorted(per_pid.values(), reverse=True))


def _split_later(server: Server, seconds: float) -> Callable[[], str]:
    """Sample ``connection_split`` a little into a run; the returned call gives the sample."""
    seen: list[str] = []
    timer = threading.Timer(min(1.5, seconds / 2), lambda: seen.append(connection_split(server)))
    timer.start()

    def result() -> str:
        timer.cancel()
        timer.join()
        return seen[0] if seen else ""

    return result


Step = Callable[[httpx.AsyncClient, int], Awaitable[bool]]
"""One stateful request by client ``n``: returns whether it succeeded (the run times it)."""
StepMaker = Callable[[httpx.AsyncClient, int], Awaitable[Step]]
"""Sets client ``n`` up (untimed: tokens, current revisions) and returns its step."""


async def _drive(
    base_url: str,
    make_step: StepMaker,
    concurrency: int,
    seconds: float,
    cpu: Callable[[], float],
) -> tuple[list[float], int, float, float]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=300) as client:
        steps = [await make_step(client, n) for n in range(concurrency)]
        cpu_before = cpu()  # the setup requests are not counted
        started = time.perf_counter()
        deadline = started + seconds

        async def worker(n: int) -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                ok = await steps[n](client, n)
                latencies.append(time.perf_counter() - t0)
                errors += not ok

        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        return latencies, errors, time.perf_counter() - started, cpu() - cpu_before


def stateful(
    server: Server,
    scenario: str,
    make_step: StepMaker,
    *,
    concurrency: int,
    seconds: float,
    base_url: str | None = None,
) -> Run:
    """Run ``concurrency`` clients, each repeating its step for ``seconds``."""
    server.settle()
    split = _split_later(server, seconds)
    latencies, errors, duration, cpu = asyncio.run(
        _drive(base_url or server.url, make_step, concurrency, seconds, server.cpu_seconds)
    )
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else 0.0
    return Run(
        scenario=scenario,
        concurrency=concurrency,
        requests=len(latencies),
        seconds=duration,
        rps=len(latencies) / duration if duration else 0.0,
        p50_ms=statistics.median(ordered) * 1000 if ordered else 0.0,
        p95_ms=p95 * 1000,
        errors=errors,
        server_cpu_ms=cpu * 1000 / len(latencies) if latencies else 0.0,
        load_avg=os.getloadavg()[0],
        connections=split(),
    )


def cache_hits(server: Server, paths: list[str], sample: int = 40) -> float | None:
    """Share of anonymous page views served from the page cache (``X-Atrium-Cache``), each on a
    new connection so they spread over the workers; None without that header (no cache)."""
    answers = []
    for path in paths[:: max(1, len(paths) // sample)][:sample]:
        answers.append(httpx.get(server.url + path).headers.get("x-atrium-cache"))
    if not any(answers):
        return None
    return float(sum(a == "hit" for a in answers) / len(answers))


def warm_page_cache(server: Server, paths: list[str], *, target: float = 0.95) -> float | None:
    """Load ``paths`` at concurrency 8 until ``target`` of a sample of new connections (spread
    over the workers, each with its own cache) are served from the page cache; the share."""
    share = None
    for _ in range(6):
        wrk(server, "warm-up", paths, concurrency=8, seconds=2)
        share = cache_hits(server, paths)
        if share is None or share >= target:
            break
    return share
