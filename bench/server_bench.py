"""Issue #8 benchmark: Atrium served as a user would, against a static baseline and a peer.

    make bench                      # small data set, a few minutes
    BENCH_SIZE=full make bench      # 10,000 pages, ~200,000 revisions, 50,000 comments
    .venv/bin/python -m bench.server_bench [--size small|full] [--seconds 3] [--no-peer]

One run: generate (or reuse) the data set; time ``atrium reindex`` and ``atrium import``; start
``atrium serve`` (its own data dir, a free loopback port, ``--workers``) and, with the same
uvicorn settings, a static app returning the bytes of a page view (the baseline); load both
with wrk (GETs) and an httpx client (API saves with a token and the base revision) at
concurrency 1, 8 and 32; then An Otter Wiki on the same pages. Prints a table with ratios to
the baseline and writes bench/results/<time>-<size>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx

from bench import dataset, loadgen
from bench import peer_otterwiki as peer
from bench.generate import DOMAIN, LONG_HISTORY, TAGS
from bench.loadgen import Run, Step, StepMaker
from bench.procs import Server, _status_kib, free_port

HERE = Path(__file__).parent
WORK = HERE / ".run"
RESULTS = HERE / "results"
ATRIUM = Path(sys.executable).with_name("atrium")
PASSWORD = "bench-password-1234"
CONCURRENCY = (1, 8, 32)
MIN_REQUESTS = 10
MAX_SECONDS = 15


def atrium(*args: str, data_dir: Path) -> tuple[float, float, str]:
    """Run an ``atrium`` command: (wall seconds, CPU seconds, its output)."""
    env = {**os.environ, "ATRIUM_DATA_DIR": str(data_dir), "ATRIUM_SEARCH_INDEXER": "false"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([str(ATRIUM), *args], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"atrium {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    out = done.stdout
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, out


def queries(bodies: list[str]) -> dict[str, list[str]]:
    """Search queries per kind from the generator's vocabulary and text (deterministic)."""
    words = DOMAIN[:40]
    phrases = []
    for body in bodies:
        tokens = [t for t in body.split() if t.isalpha() and t.islower()]
        phrases.append(f'"{tokens[10]} {tokens[11]}"')
    return {
        "search: single word": words[:20],
        "search: two words": [f"{a} {b}" for a, b in itertools.pairwise(words)],
        "search: phrase": phrases,
        "search: filtered": [f"{w} tag:{t}" for w, t in zip(words, TAGS[5:25], strict=False)],
        "search: prefix": [w[:4] + "*" for w in words[:20]],
    }


def atrium_saves(url: str, token: str, slugs: list[str]) -> StepMaker:
    """Client ``n`` saves ``slugs[n]`` through the API, each save on the revision it made last."""
    headers = {"Authorization": f"Bearer {token}"}

    async def make(client: httpx.AsyncClient, n: int) -> Step:
        slug = slugs[n]
        page = (await client.get(f"{url}/api/v1/pages/{slug}", headers=headers)).json()
        state = {"base": int(page["head"]), "count": 0}

        async def step(client: httpx.AsyncClient, n: int) -> bool:
            state["count"] += 1
            edit = {
                "base": state["base"],
                "title": page["title"],
                "tags": page["tags"],
                "body": f"{page['body']}\nBench edit {n}-{state['count']}.\n",
            }
            response = await client.put(f"{url}/api/v1/pages/{slug}", json=edit, headers=headers)
            if response.status_code != 200:
                return False
            revision = response.json()["revision"]
            if revision:
                state["base"] = int(revision["number"])
            return True

        return step

    return make


def sign_in(url: str) -> str:
    """A session cookie for the bench admin, signed in through the login form."""
    with httpx.Client(base_url=url) as client:
        form = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token, "no CSRF token on the login form"
        response = client.post(
            "/login",
            data={
                "username": "bench",
                "password": PASSWORD,
                "next": "/",
                "csrf_token": token.group(1),
            },
        )
        assert response.status_code in (200, 303), response.status_code
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


class Bench:
    """Collects runs and prints them as they come."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.runs: dict[str, list[Run]] = {}

    def record(self, system: str, run: Run) -> None:
        """Keep and print one run."""
        self.runs.setdefault(system, []).append(run)
        print(
            f"  {system:<9} {run.scenario:<24} c={run.concurrency:<3} {run.rps:8.1f} req/s "
            f"p50 {run.p50_ms:7.1f} ms  p95 {run.p95_ms:7.1f} ms  cpu/req {run.server_cpu_ms:6.1f}"
            f" ms  errors {run.errors}  load {run.load_avg:.1f}  conns {run.connections or '-'}",
            flush=True,
        )

    def gets(
        self, system: str, server: Server, scenario: str, paths: list[str], cookie: str = ""
    ) -> None:
        """A GET scenario at every concurrency, after a short warm-up."""
        loadgen.wrk(server, "warm-up", paths, concurrency=2, seconds=1, cookie=cookie)
        for c in CONCURRENCY:
            seconds = self.seconds
            while True:
                result = loadgen.wrk(
                    server, scenario, paths, concurrency=c, seconds=seconds, cookie=cookie
                )
                # a slow operation finishes few requests in a short run: run it longer, so
                # p50/p95 rest on at least MIN_REQUESTS samples (or MAX_SECONDS of trying)
                if result.requests >= MIN_REQUESTS or seconds >= MAX_SECONDS:
                    break
                seconds = min(MAX_SECONDS, seconds * 4)
            self.record(system, result)

    def stateful(self, system: str, server: Server, scenario: str, make: StepMaker) -> None:
        """A stateful scenario at every concurrency."""
        for c in CONCURRENCY:
            self.record(
                system,
                loadgen.stateful(server, scenario, make, concurrency=c, seconds=self.seconds),
            )


def disk_figures(data: Path, meta: dict[str, int]) -> dict[str, float]:
    """Bytes on disk per revision: the whole database, the revision table alone (SQLite's
    dbstat), the stored text column, and the raw text the generator wrote. Measured after
    ``atrium migrate`` and a VACUUM, so a migration that re-encodes revisions is counted as
    stored, not as free pages."""
    path = data / "atrium.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("VACUUM")
        table = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'revision'").fetchone()[0]
        columns = {row[1] for row in db.execute("PRAGMA table_info(revision)")}
        text = "encoded_body" if "encoded_body" in columns else "body"  # as stored, in bytes
        stored = db.execute(f"SELECT sum(length(CAST({text} AS BLOB))) FROM revision").fetchone()
    database = sum(f.stat().st_size for f in data.glob("atrium.sqlite3*"))
    revisions = meta["revisions"]
    return {
        "database_bytes": database,
        "db_bytes_per_revision": database / revisions,
        "revision_table_bytes_per_revision": table / revisions,
        "stored_body_bytes_per_revision": stored[0] / revisions,
        "raw_body_bytes_per_revision": meta["body_bytes"] / revisions,
    }


def process_memory(server: Server) -> list[dict[str, object]]:
    """Peak and current RSS of each of the server's processes (KiB, from /proc), with its role:
    the supervisor, each worker, the search indexer, multiprocessing's resource tracker. ``anon``
    is private memory, ``file`` mapped files (the search index's pages among them, shared)."""
    rows: list[dict[str, object]] = []
    for pid in server.pids():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        role = (
            "supervisor"
            if server.process is not None and pid == server.process.pid
            else "resource tracker"
            if "resource_tracker" in command
            else "search indexer"
            if command.rstrip().endswith(" indexer") or " indexer --ready-fd" in command
            else "worker"
        )
        rows.append(
            {
                "role": role,
                "pid": pid,
                "peak_kib": _status_kib(pid, "VmHWM"),
                "rss_kib": _status_kib(pid, "VmRSS"),
                "anon_kib": _status_kib(pid, "RssAnon"),
                "file_kib": _status_kib(pid, "RssFile"),
            }
        )
    return rows


def memory_lines(results: dict[str, object]) -> list[str]:
    """The per-process memory of the Atrium run, one line per process and the total."""
    rows: list[dict[str, int | str]] = results["atrium_rss_kib"]["processes"]  # type: ignore[index]
    lines = [
        f"  {r['role']:<16} pid {r['pid']:>7}: peak {int(r['peak_kib']) / 1024:6.1f} MiB, now "
        f"{int(r['rss_kib']) / 1024:6.1f} (anon {int(r['anon_kib']) / 1024:6.1f}, file "
        f"{int(r['file_kib']) / 1024:6.1f}) MiB"
        for r in rows
    ]
    total = sum(int(r["peak_kib"]) for r in rows)
    lines.append(f"  {'all processes':<28}: peak {total / 1024:6.1f} MiB (sum of the peaks)")
    return lines


def run(args: argparse.Namespace) -> dict[str, object]:
    """The whole benchmark; returns the results."""
    loadgen.ensure_wrk()
    ds = dataset.ensure(args.size)
    print(f"data set {ds.name}: {ds.meta}", flush=True)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    data = ds.copy_to(WORK / "atrium")
    results: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "size": ds.name,
        "dataset": ds.meta,
        "workers": args.workers,
        "seconds_per_run": args.seconds,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_avg_start": os.getloadavg(),
    }
    atrium("migrate", data_dir=data)
    results["disk"] = disk_figures(data, ds.meta)
    if not args.views_only:  # the CLI timings
        wall, cpu, _ = atrium("reindex", data_dir=data)
        results["reindex"] = {"seconds": wall, "cpu_seconds": cpu, "load_avg": os.getloadavg()[0]}
        print(f"atrium reindex: {wall:.1f} s (CPU {cpu:.1f} s)", flush=True)
        imported = WORK / "import"
        atrium("migrate", data_dir=imported)
        wall, cpu, _ = atrium("import", str(ds.markdown), data_dir=imported)
        results["import"] = {
            "pages": ds.meta["pages"] + 1,
            "seconds": wall,
            "cpu_seconds": cpu,
            "load_avg": os.getloadavg()[0],
        }
        print(f"atrium import of {ds.meta['pages'] + 1} pages: {wall:.1f} s (CPU {cpu:.1f} s)")
        shutil.rmtree(imported)
    atrium("user", "add", "bench", "--role", "admin", "--password", PASSWORD, data_dir=data)
    token = atrium("token", "create", "bench", data_dir=data)[2].strip().splitlines()[-1]

    slugs = ds.slugs(200)
    bench = Bench(args.seconds)
    port = free_port()
    app = Server(
        name="atrium",
        command=[str(ATRIUM), "serve", "--port", str(port), "--workers", str(args.workers)],
        port=port,
        log=WORK / "atrium.log",
        # --views-only skips the reindex above: no index for an indexer to build meanwhile
        env={"ATRIUM_DATA_DIR": str(data)}
        | ({"ATRIUM_SEARCH_INDEXER": "false"} if args.views_only else {}),
    ).start()
    try:
        page = httpx.get(f"{app.url}/wiki/{slugs[0]}")
        page.raise_for_status()
        static = WORK / "page.html"
        static.write_bytes(page.content)
        results["page_view_bytes"] = len(page.content)
        base_port = free_port()
        with Server(
            name="baseline",
            command=[sys.executable, "-m", "bench.static_app", str(base_port), str(args.workers)],
            port=base_port,
            log=WORK / "baseline.log",
            env={"BENCH_STATIC_FILE": str(static)},
            cwd=HERE.parent,
        ) as baseline:
            print(f"\nbaseline and page view ({len(page.content):,} bytes each)")
            bench.gets("baseline", baseline, "static page", ["/static-page"])
            results["baseline_rss_kib"] = baseline.peak_rss_kib()
        views = [f"/wiki/{s}" for s in slugs]
        print("\nAtrium")
        # "a page view of a cached revision": each worker keeps its own page cache, and a
        # 1 s warm-up at c=2 left the second worker's cold (its misses, ~13 ms of CPU each,
        # made the p95 of the first runs)
        share = loadgen.warm_page_cache(app, views)
        results["page_cache_hits_after_warmup"] = share
        print(f"  page cache after warm-up: {share if share is None else f'{share:.0%}'} hits")
        bench.gets("atrium", app, "page view", views)
        if not args.views_only:
            bench.stateful("atrium", app, "edit save (API)", atrium_saves(app.url, token, slugs))
            bench.gets("atrium", app, "history (500 revisions)", [f"/history/{LONG_HISTORY}"])
            diff = f"/diff/{LONG_HISTORY}?from=10&to=490"
            bench.gets("atrium", app, "diff (rev 10 → 490)", [diff])
            bench.gets("atrium", app, "recent changes", ["/recent"])
            for kind, qs in queries(list(ds.bodies(slugs[:20]).values())).items():
                bench.gets("atrium", app, kind, [f"/search?q={quote(q)}" for q in qs])
            cookie = sign_in(app.url)
            workshop = ds.meta.get("workshop")
            if workshop:
                bench.gets("atrium", app, "workshop room", [f"/workshops/{workshop}"], cookie)
        largest, total = app.peak_rss_kib()
        results["atrium_rss_kib"] = {
            "largest_process": largest,
            "all_processes": total,
            "processes": process_memory(app),
        }
    finally:
        app.stop()
    if args.peer and not args.views_only:
        run_peer(ds, bench, slugs, args.workers, results)
    results["runs"] = {k: [r.as_dict() for r in v] for k, v in bench.runs.items()}
    results["load_avg_end"] = os.getloadavg()
    return results


def run_peer(
    ds: dataset.Dataset, bench: Bench, slugs: list[str], workers: int, results: dict[str, object]
) -> None:
    """The operations both wikis have, on An Otter Wiki with the same pages."""
    print("\nAn Otter Wiki (peer): installing and loading the same revisions …", flush=True)
    peer.ensure_installed()
    target = WORK / "otterwiki"
    target.mkdir()
    started = time.perf_counter()
    peer.load(ds, target)
    results["peer_load_seconds"] = time.perf_counter() - started
    port = free_port()
    with peer.server(target, port=port, workers=workers, log=WORK / "otterwiki.log") as other:
        bench.gets("otterwiki", other, "page view", peer.view_paths(slugs))
        bench.stateful(
            "otterwiki", other, "edit save (form)", peer.save_steps(ds.bodies(slugs[:32]))
        )
        bench.gets("otterwiki", other, "history (500 revisions)", [peer.history_path(LONG_HISTORY)])
        for kind, qs in list(queries(list(ds.bodies(slugs[:20]).values())).items())[:3]:
            bench.gets("otterwiki", other, kind, [peer.search_path(q.strip('"')) for q in qs])
        largest, total = other.peak_rss_kib()
        results["peer_rss_kib"] = {"largest_process": largest, "all_processes": total}


def table(results: dict[str, object]) -> str:
    """The readable summary: every run with its ratios to the baseline at that concurrency."""
    runs: dict[str, list[dict[str, float]]] = results["runs"]  # type: ignore[assignment]
    base = {int(r["concurrency"]): r for r in runs.get("baseline", [])}
    lines = [
        f"{'system':<9} {'scenario':<24} {'c':>3} {'req/s':>8} {'x base':>6} {'p50 ms':>8} "
        f"{'x base':>6} {'p95 ms':>8} {'x base':>6} {'cpu ms':>7} {'err':>4} {'load':>5} conns"
    ]

    def ratio(value: float, reference: float) -> str:
        return f"{value / reference:6.2f}" if reference else "     -"

    for system, rows in runs.items():
        for r in rows:
            b = base.get(int(r["concurrency"]), {})
            lines.append(
                f"{system:<9} {r['scenario']:<24} {r['concurrency']:>3} {r['rps']:8.1f} "
                f"{ratio(r['rps'], b.get('rps', 0))} {r['p50_ms']:8.1f} "
                f"{ratio(r['p50_ms'], b.get('p50_ms', 0))} {r['p95_ms']:8.1f} "
                f"{ratio(r['p95_ms'], b.get('p95_ms', 0))} {r['server_cpu_ms']:7.1f} "
                f"{r['errors']:>4} {r['load_avg']:5.1f} {r.get('connections') or '-'}"
            )
    disk: dict[str, float] = results["disk"]  # type: ignore[assignment]
    extra: list[Callable[[], str]] = [
        lambda: f"reindex: {results['reindex']}",
        lambda: f"import: {results['import']}",
        lambda: (
            "Atrium peak RSS (KiB, largest, all): "
            f"{[results['atrium_rss_kib'][k] for k in ('largest_process', 'all_processes')]}"  # type: ignore[index]
        ),
        lambda: f"baseline peak RSS (KiB, largest, all): {results['baseline_rss_kib']}",
        lambda: f"peer peak RSS (KiB): {results['peer_rss_kib']}",
        lambda: (
            f"disk per revision: database {disk['db_bytes_per_revision']:.0f} bytes, revision "
            f"table {disk['revision_table_bytes_per_revision']:.0f} bytes, stored text "
            f"{disk['stored_body_bytes_per_revision']:.0f} bytes, raw text "
            f"{disk['raw_body_bytes_per_revision']:.0f} bytes (table/raw "
            f"{disk['revision_table_bytes_per_revision'] / disk['raw_body_bytes_per_revision']:.3f}"
            ")"
        ),
        lambda: f"load average: start {results['load_avg_start']}, end {results['load_avg_end']}",
    ]
    for line in extra:
        try:
            lines.append(line())
        except KeyError:
            continue
    with contextlib.suppress(KeyError, TypeError):  # results from before per-process figures
        memory = memory_lines(results)
        lines += ["Atrium memory per process (peak VmHWM; now VmRSS):", *memory]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Atrium server benchmark (issue #8)")
    parser.add_argument("--size", choices=sorted(dataset.SIZES), default=None)
    parser.add_argument("--seconds", type=float, default=None, help="per run (default 3 / 10)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", 2)))
    parser.add_argument("--no-peer", dest="peer", action="store_false")
    parser.add_argument(
        "--views-only",
        action="store_true",
        help="only the static baseline and page views (no CLI timings, other scenarios, peer)",
    )
    args = parser.parse_args()
    args.size = args.size or os.environ.get("BENCH_SIZE", "small")
    if args.seconds is None:
        args.seconds = float(os.environ.get("BENCH_SECONDS", 3 if args.size == "small" else 10))
    results = run(args)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{args.size}.json"
    out.write_text(json.dumps(results, indent=1))
    print("\n" + table(results))
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
