"""Scale-out benchmark: PostgreSQL, several app servers, nginx in front (issue #8, part 4).

    .venv/bin/python -m bench.scaleout [--pages 1000] [--seconds 5] [--workers 2]
                                       [--scenarios anonymous,signed-in,search] [--checks-only]

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust). The script (re)creates the database
``atrium_bench`` (never any other), fills it with the generator, builds the PostgreSQL search
index (``ATRIUM_SEARCH_BACKEND=postgres``), then:

1. checks that nothing is per process (bench/crossserver.py) on two app servers A and B that
   share only the database and the secret key: sessions and form tokens, notifications (watch on
   A, edit on B, inbox, badge and mark-read on both), live workshop updates (an idea, a dot and a
   proposal response made through B show in the next poll of a room open on A) — each printed
   ✔/✘, and the script exits non-zero when one fails;
2. measures, with wrk at concurrency 1, 8 and 32, anonymous page views, signed-in page views
   (a session cookie: no anonymous response cache, the worker renders) and search, through
   one server with 1, 2 and 4 workers and through nginx over two servers with ``--workers``
   each (Debian's package, installed when missing, started with its own config in
   bench/.scaleout, loopback only, not the system service); prints req/s, p50/p95, the app's and
   PostgreSQL's CPU time per request, and each layout's req/s over 1 worker's.

Servers and nginx run in their own process groups and are stopped on any exit (an error,
Ctrl-C, SIGTERM); a run killed outright leaves pid files that the next run stops first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import crossserver, loadgen
from bench.generate import DOMAIN, generate
from bench.procs import Server, free_port
from bench.server_bench import ATRIUM, CONCURRENCY, PASSWORD, RESULTS, sign_in

HERE = Path(__file__).parent
WORK = HERE / ".scaleout"
DATABASE = "atrium_bench"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
SECRET = "bench-scaleout-shared-secret-key-0123456789"
PIDS = WORK / "pids"  # one file per running server: a run killed outright is cleaned up next time
TICKS = os.sysconf("SC_CLK_TCK")
SCENARIOS = ("anonymous", "signed-in", "search")
MAX_WARM_UPS = 6  # extra warm-ups of --seconds each for the anonymous page cache


def ensure_nginx() -> str:
    """Path of nginx, installed from Debian's packages when missing; never started as a service."""
    found = shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx")
    if found:
        return str(found)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    # policy-rc.d keeps the package's post-install step from starting the system service
    policy = Path("/usr/sbin/policy-rc.d")
    created = not policy.exists()
    if created:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light"], check=True, env=env)
    finally:
        if created:
            policy.unlink()
    return "/usr/sbin/nginx"


def recreate_database() -> None:
    """Drop and create ``atrium_bench`` (and only it)."""
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def env_for(data_dir: Path) -> dict[str, str]:
    """The environment of every app server: PostgreSQL, its search backend, one secret key."""
    return {
        "ATRIUM_DATA_DIR": str(data_dir),
        "ATRIUM_DATABASE_URL": URL,
        "ATRIUM_SEARCH_BACKEND": "postgres",
        "ATRIUM_SECRET_KEY": SECRET,
    }


def atrium(*args: str, data_dir: Path) -> str:
    """Run an ``atrium`` command against the bench database."""
    return subprocess.run(
        [str(ATRIUM), *args],
        check=True,
        env={**os.environ, **env_for(data_dir)},
        capture_output=True,
        text=True,
    ).stdout


def app_server(name: str, workers: int) -> Server:
    """An ``atrium serve`` on a free port with its own data dir."""
    port = free_port()
    data_dir = WORK / name
    data_dir.mkdir(parents=True, exist_ok=True)
    return Server(
        name=name,
        command=[str(ATRIUM), "serve", "--port", str(port), "--workers", str(workers)],
        port=port,
        log=WORK / f"{name}.log",
        env=env_for(data_dir),
    )


def nginx_server(upstreams: list[Server]) -> Server:
    """nginx on a free loopback port, balancing over ``upstreams`` with keep-alive."""
    port = free_port()
    root = WORK / "nginx"
    root.mkdir(parents=True, exist_ok=True)
    servers = "\n".join(f"    server 127.0.0.1:{s.port};" for s in upstreams)
    temp = "\n".join(
        f"  {kind}_temp_path {root}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (root / "nginx.conf").write_text(
        f"""worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
{temp}
  upstream atrium {{
{servers}
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://atrium;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }}
  }}
}}
"""
    )
    return Server(
        name="nginx",
        command=[ensure_nginx(), "-p", str(root), "-c", str(root / "nginx.conf")],
        port=port,
        log=WORK / "nginx.log",
        upstreams=upstreams,  # CPU per request: the proxy's and the app servers'
    )


@contextmanager
def running(server: Server) -> Iterator[Server]:
    """Start ``server`` (stopped, with its process group, however the block ends)."""
    print(f"  starting {server.name} on port {server.port} …", flush=True)
    try:
        with server:
            assert server.process is not None
            PIDS.mkdir(parents=True, exist_ok=True)
            pid_file = PIDS / server.name
            pid_file.write_text(str(server.process.pid))
            try:
                yield server
            finally:
                pid_file.unlink(missing_ok=True)
    except RuntimeError:
        print(f"  {server.name} did not start; the end of {server.log}:", flush=True)
        print(_tail(server.log), flush=True)
        raise


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_leftovers() -> None:
    """Stop the servers a run killed outright left behind (only processes it started: their
    pid file names them, and their command line or environment names this bench's folder)."""
    for pid_file in PIDS.glob("*") if PIDS.exists() else []:
        pid = int(pid_file.read_text() or 0)
        try:
            marks = Path(f"/proc/{pid}/cmdline").read_bytes()
            marks += Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if str(WORK).encode() in marks:
            print(f"stopping {pid_file.name} (pid {pid}) left by an earlier run", flush=True)
            os.killpg(pid, signal.SIGKILL)


def db_cpu() -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to the bench database."""
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (DATABASE,))
        pids = [int(r[0]) for r in rows]
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
    return out


def measure(
    server: Server, layout: str, scenario: str, paths: list[str], seconds: float, cookie: str = ""
) -> list[dict[str, object]]:
    """One scenario at every concurrency through ``server``: wrk's figures, the app's CPU per
    request (every process of the layout, nginx included) and PostgreSQL's."""
    # every worker has its own caches (anonymous page views, tree levels, render cache): warm
    # them all, or the layouts with more workers pay more misses inside the measured runs
    loadgen.wrk(server, "warm-up", paths, concurrency=8, seconds=seconds, cookie=cookie)
    hits = None
    if scenario == "anonymous":  # warm until most page views come from the page cache
        for _ in range(MAX_WARM_UPS):
            hits = loadgen.cache_hits(server, paths)
            if hits is None or hits >= 0.9:
                break
            loadgen.wrk(server, "warm-up", paths, concurrency=8, seconds=seconds)
        if hits is not None:
            print(f"  {scenario:<10} page cache hits before the runs: {hits:.0%}", flush=True)
    out: list[dict[str, object]] = []
    for c in CONCURRENCY:
        before = db_cpu()
        run = loadgen.wrk(
            server, f"{layout}: {scenario}", paths, concurrency=c, seconds=seconds, cookie=cookie
        )
        after = db_cpu()
        db_seconds = sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
        db_ms = db_seconds * 1000 / run.requests if run.requests else 0.0
        print(
            f"  {scenario:<10} c={c:<3} {run.rps:8.1f} req/s  p50 {run.p50_ms:7.1f} ms  "
            f"p95 {run.p95_ms:7.1f} ms  app cpu/req {run.server_cpu_ms:5.1f} ms  "
            f"db cpu/req {db_ms:5.1f} ms  errors {run.errors}  load {run.load_avg:.1f}",
            flush=True,
        )
        out.append(
            {**run.as_dict(), "layout": layout, "kind": scenario, "db_cpu_ms": db_ms, "hits": hits}
        )
    return out


def signed_in_cookie(server: Server, path: str) -> str:
    """The bench admin's session cookie, signed in through ``server`` (checked on ``path``)."""
    cookie = sign_in(server.url)
    page = httpx.get(server.url + path, headers={"Cookie": cookie}).text
    if 'action="/logout"' not in page:
        raise RuntimeError(f"the signed-in cookie does not sign in (checked on {path})")
    return cookie


def load_layout(
    entry: Server, layout: str, scenarios: list[str], slugs: list[str], seconds: float
) -> list[dict[str, object]]:
    """Every scenario through ``entry`` (an app server, or nginx in front of several)."""
    print(f"\n{layout}  (PostgreSQL, search backend postgres)", flush=True)
    views = [f"/wiki/{s}" for s in slugs]
    runs = []
    for scenario in scenarios:
        if scenario == "anonymous":
            runs += measure(entry, layout, scenario, views, seconds)
        elif scenario == "signed-in":
            cookie = signed_in_cookie(entry, views[0])
            runs += measure(entry, layout, scenario, views, seconds, cookie)
        elif scenario == "search":
            words = [f"/search?q={w}" for w in DOMAIN[:20]]
            runs += measure(entry, layout, scenario, words, seconds)
    return runs


def scaling(runs: list[dict[str, object]], scenarios: list[str]) -> dict[str, dict[str, float]]:
    """req/s of every layout over one worker's, per scenario and concurrency (and at each one's
    best concurrency); printed as a table."""
    rps = {(str(r["layout"]), str(r["kind"]), int(str(r["concurrency"]))): r["rps"] for r in runs}
    ratios: dict[str, dict[str, float]] = {}
    if not runs:
        return ratios
    levels = " / ".join(str(c) for c in CONCURRENCY)
    print(f"\nscaling: req/s over 1 server x 1 worker's, at c={levels} and best over best")
    print(f"  {'':<30}" + "".join(f"{s:<28}" for s in scenarios))
    for layout, _ in LAYOUTS[1:]:
        cells = []
        for scenario in scenarios:
            mine = [float(str(rps.get((layout, scenario, c), 0.0))) for c in CONCURRENCY]
            one = [float(str(rps.get((LAYOUTS[0][0], scenario, c), 0.0))) for c in CONCURRENCY]
            row = [m / o if o else 0.0 for m, o in zip(mine, one, strict=True)]
            best = max(mine) / max(one) if max(one) else 0.0
            for c, ratio in zip(CONCURRENCY, row, strict=True):
                ratios.setdefault(layout, {})[f"{scenario} c={c}"] = round(ratio, 2)
            ratios[layout][f"{scenario} best"] = round(best, 2)
            cells.append(" ".join(f"{x:.2f}" for x in row) + f"  best {best:.2f}")
        print(f"  {layout:<30}" + "".join(f"{c:<28}" for c in cells))
    return ratios


# (label, workers of each app server); more than one server: nginx in front
LAYOUTS: list[tuple[str, list[int]]] = [
    ("1 server x 1 worker", [1]),
    ("1 server x 2 workers", [2]),
    ("1 server x 4 workers", [4]),
    ("nginx, 2 servers x 2 workers", [2, 2]),
]


def _on_signal(signum: int, _frame: object) -> None:
    # SIGTERM / SIGHUP end the run like Ctrl-C: every ``with`` stops what it started
    raise SystemExit(f"stopped by signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Atrium scale-out benchmark (PostgreSQL)")
    parser.add_argument("--pages", type=int, default=1_000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--workers", type=int, default=2, help="workers per server behind nginx")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument("--checks-only", action="store_true", help="cross-server checks, no load")
    args = parser.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; known: {', '.join(SCENARIOS)}")
    LAYOUTS[-1] = (f"nginx, 2 servers x {args.workers} workers", [args.workers] * 2)
    if args.checks_only:
        LAYOUTS[:-1], scenarios = [], []
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    try:
        ok = run(args.pages, args.seconds, scenarios)
    except Exception:
        traceback.print_exc()
        sys.exit("scale-out bench failed (servers and nginx are stopped); logs in " + str(WORK))
    if not ok:
        sys.exit("✘ some cross-server checks failed (see above)")
    print("✔ every cross-server check passed")


def run(pages: int, seconds: float, scenarios: list[str]) -> bool:
    """The whole run; returns whether every cross-server check passed."""
    loadgen.ensure_wrk()
    ensure_nginx()
    stop_leftovers()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    recreate_database()
    print(f"generating {pages} pages into PostgreSQL database {DATABASE} …", flush=True)
    from app.core.config import Settings

    settings = Settings(data_dir=WORK / "gen", database_url=URL, secret_key=SECRET)
    meta = generate(settings, pages=pages, comments=pages * 5, workshop_ideas=20)
    atrium("reindex", data_dir=WORK / "gen")
    gen = WORK / "gen"
    atrium("user", "add", "bench", "--role", "admin", "--password", PASSWORD, data_dir=gen)
    for name in ("bench-x", "bench-y"):
        label = f"Bench {name[-1].upper()}"
        atrium("user", "add", name, "--password", PASSWORD, "--display-name", label, data_dir=gen)
    slugs = first_slugs(200)
    results: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": meta,
        "scenarios": scenarios,
        "load_avg_start": os.getloadavg(),
    }
    print(f"load average at the start: {os.getloadavg()}")
    runs: list[dict[str, object]] = []
    report = crossserver.Report()
    # the checks write to the first pages: measure on the others, checks first
    measured = slugs[:-10]
    for layout, per_server in LAYOUTS:
        with ExitStack() as stack:
            servers = [
                stack.enter_context(running(app_server(f"{chr(97 + n)}-{w}w", w)))
                for n, w in enumerate(per_server)
            ]
            if len(servers) == 2 and not report.results:
                report = crossserver.run_all(
                    *servers,
                    password=PASSWORD,
                    workshop_id=int(str(meta["workshop"])),
                    slugs=slugs[-10:],
                )
            entry = servers[0]
            if len(servers) > 1:
                entry = stack.enter_context(running(nginx_server(servers)))
            runs += load_layout(entry, layout, scenarios, measured, seconds)
    results["runs"] = runs
    results["scaling"] = scaling(runs, scenarios)
    results["checks"] = report.results
    results["load_avg_end"] = os.getloadavg()
    print(f"load average at the end: {os.getloadavg()}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-scaleout.json"
    out.write_text(json.dumps(results, indent=1))
    print(f"\nresults: {out}")
    return report.ok


def first_slugs(limit: int) -> list[str]:
    """The first generated pages' slugs."""
    import psycopg

    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        rows = conn.execute("SELECT slug FROM page ORDER BY id LIMIT %s", (limit,))
        return [r[0] for r in rows]


if __name__ == "__main__":
    main()
