"""Scale-out benchmark: PostgreSQL, several app servers, nginx in front (issue #8, part 4).

    .venv/bin/python -m bench.scaleout [--pages 1000] [--seconds 5] [--workers 2]

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust). The script (re)creates the database
``atrium_bench`` (never any other), fills it with the generator, builds the PostgreSQL search
index (``ATRIUM_SEARCH_BACKEND=postgres``), then measures page view throughput with wrk:

1. one app server with 1 worker;
2. one app server with 2 workers;
3. two app servers (``--workers`` each, their own data dirs, one shared secret key) behind nginx
   (Debian's package, installed when missing, started with its own config in bench/.scaleout,
   loopback only, not the system service).

It also checks that nothing is per process: a session signed in through server A reads a
members-only page through server B, and a form token issued by A is accepted by B.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import loadgen
from bench.generate import generate
from bench.loadgen import Run
from bench.procs import Server, free_port
from bench.server_bench import ATRIUM, CONCURRENCY, PASSWORD, RESULTS

HERE = Path(__file__).parent
WORK = HERE / ".scaleout"
DATABASE = "atrium_bench"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
SECRET = "bench-scaleout-shared-secret-key-0123456789"


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


def check_sessions(a: Server, b: Server, workshop: int, slug: str) -> dict[str, bool]:
    """A session signed in on server A works on server B, and so does a form token A issued."""
    members_only = f"/workshops/{workshop}"  # closed to anonymous visitors until it is closed
    anonymous = httpx.get(b.url + members_only).status_code
    with httpx.Client() as client:  # cookies are per host, not per port: B gets A's cookies
        form = client.get(f"{a.url}/login").text
        client.post(
            f"{a.url}/login",
            data={
                "username": "bench",
                "password": PASSWORD,
                "next": "/",
                "csrf_token": _token(form),
            },
        )
        signed_in = client.get(b.url + members_only).status_code
        page = client.get(f"{a.url}/api/v1/pages/{slug}").json()
        editor = client.get(f"{a.url}/edit/{slug}").text
        saved = client.post(
            f"{b.url}/edit/{slug}",
            data={
                "base": page["head"],
                "title": page["title"],
                "body": page["body"] + "\nSaved through server B.\n",
                "tags": ",".join(page["tags"]),
                "csrf_token": _token(editor),
            },
        ).status_code
        seen = "Saved through server B." in client.get(f"{a.url}/api/v1/pages/{slug}").text
    result = {
        "anonymous_refused_on_b": anonymous != 200,
        "session_from_a_works_on_b": signed_in == 200,
        "form_token_from_a_accepted_by_b": saved < 400 and seen,
    }
    print(f"sessions across servers: {result}", flush=True)
    return result


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return found.group(1) if found else ""


def measure(server: Server, label: str, paths: list[str], seconds: float) -> list[Run]:
    """Page views at every concurrency through ``server``."""
    loadgen.wrk(server, "warm-up", paths, concurrency=2, seconds=1)
    runs = []
    for c in CONCURRENCY:
        run = loadgen.wrk(server, label, paths, concurrency=c, seconds=seconds)
        print(
            f"  {label:<34} c={c:<3} {run.rps:8.1f} req/s  p50 {run.p50_ms:7.1f} ms  "
            f"p95 {run.p95_ms:7.1f} ms  cpu/req {run.server_cpu_ms:5.1f} ms  "
            f"errors {run.errors}  load {run.load_avg:.1f}",
            flush=True,
        )
        runs.append(run)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description="Atrium scale-out benchmark (PostgreSQL)")
    parser.add_argument("--pages", type=int, default=1_000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--workers", type=int, default=2, help="workers per server behind nginx")
    args = parser.parse_args()
    loadgen.ensure_wrk()
    ensure_nginx()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    recreate_database()
    print(f"generating {args.pages} pages into PostgreSQL database {DATABASE} …", flush=True)
    from app.core.config import Settings

    settings = Settings(data_dir=WORK / "gen", database_url=URL, secret_key=SECRET)
    meta = generate(settings, pages=args.pages, comments=args.pages * 5, workshop_ideas=20)
    atrium("reindex", data_dir=WORK / "gen")
    atrium("user", "add", "bench", "--role", "admin", "--password", PASSWORD, data_dir=WORK / "gen")
    slugs = first_slugs(200)
    paths = [f"/wiki/{s}" for s in slugs]
    results: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": meta,
        "load_avg_start": os.getloadavg(),
    }
    runs: list[Run] = []
    print("\npage view throughput (PostgreSQL, search backend postgres)")
    for workers in (1, 2):
        with app_server(f"single-{workers}", workers) as one:
            runs += measure(one, f"1 server, {workers} worker(s)", paths, args.seconds)
    a, b = app_server("a", args.workers), app_server("b", args.workers)
    with a, b:
        results["sessions"] = check_sessions(a, b, meta["workshop"], slugs[-1])
        with nginx_server([a, b]) as proxy:
            label = f"nginx, 2 servers x {args.workers} workers"
            runs += measure(proxy, label, paths, args.seconds)
    results["runs"] = [r.as_dict() for r in runs]
    results["load_avg_end"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-scaleout.json"
    out.write_text(json.dumps(results, indent=1))
    print(f"\nresults: {out}")
    if not all(results["sessions"].values()):  # type: ignore[attr-defined]
        sys.exit("sessions do not work across servers")


def first_slugs(limit: int) -> list[str]:
    """The first generated pages' slugs."""
    import psycopg

    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        rows = conn.execute("SELECT slug FROM page ORDER BY id LIMIT %s", (limit,))
        return [r[0] for r in rows]


if __name__ == "__main__":
    main()
