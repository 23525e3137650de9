"""Search benchmark: reindex time and throughput, index size, query latencies, save-to-visible.

    python -m bench.generate --data-dir /tmp/atrium-bench          # once (about a minute)
    python -m bench.search_bench --data-dir /tmp/atrium-bench [--backend postgres --database-url …]

Query latencies go through the search service (the code path of the results page: ranking,
snippets of 20 hits, facets on or off); each kind of query runs ``--runs`` times after a warm-up.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import resource
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlmodel import select

from app.accounts import service as accounts
from app.core.config import Settings
from app.core.db import make_engine, open_session
from app.pages import service as pages
from app.pages.models import Revision
from app.pages.schemas import PageEdit
from app.search import service
from app.search.backends import get_backend
from app.search.indexer import Indexer
from bench.generate import DOMAIN, TAGS


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return p50, p95


def _queries(settings: Settings, rng: random.Random, runs: int) -> dict[str, list[str]]:
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        bodies = [r.body for r in session.exec(select(Revision).limit(300))]
    engine.dispose()
    words = [w for b in bodies for w in b.split() if w.isalpha() and len(w) > 4]
    phrases = []
    for b in bodies:
        tokens = [t for t in b.split() if t.isalpha()]
        i = rng.randrange(len(tokens) - 2)
        phrases.append(f'"{tokens[i]} {tokens[i + 1]}"')
    return {
        "single-word": [rng.choice(words) for _ in range(runs)],
        "two-word": [f"{rng.choice(DOMAIN)} {rng.choice(words)}" for _ in range(runs)],
        "phrase": [rng.choice(phrases) for _ in range(runs)],
        "filtered": [f"{rng.choice(DOMAIN)} tag:{rng.choice(TAGS)}" for _ in range(runs)],
        "prefix": [rng.choice(words)[:4] + "*" for _ in range(runs)],
    }


def bench_queries(settings: Settings, runs: int, *, facets: bool) -> None:
    """p50/p95 per kind of query."""
    engine = make_engine(settings)
    rng = random.Random(7)
    queries = _queries(settings, rng, runs)
    print(f"\nquery latency ({'with' if facets else 'without'} facets; 20 hits with snippets)")
    # CPU time of this process as well: on a shared machine wall time includes waiting for a core
    print(f"  {'query':<12} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8} {'avg hits':>9}")
    with open_session(engine, settings) as session:
        for q in queries["single-word"][:20]:  # warm up caches and the searcher
            service.search(session=session, user=None, q=q, facets=facets)
        for name, qs in queries.items():
            samples, cpu, totals = [], [], []
            for q in qs:
                started, cpu_started = time.perf_counter(), time.process_time()
                found = service.search(session=session, user=None, q=q, facets=facets)
                samples.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
                totals.append(found.total)
            p50, p95 = _percentiles(samples)
            cpu50, _ = _percentiles(cpu)
            mean = statistics.mean(totals)
            print(f"  {name:<12} {p50:8.1f} {p95:8.1f} {cpu50:8.1f} {mean:9.0f}")
    engine.dispose()


def bench_reindex(settings: Settings) -> None:
    """Full rebuild: seconds, documents per second, index size."""
    engine = make_engine(settings)
    last = [0]

    def progress(done: int, _total: int) -> None:
        last[0] = done

    def cpu() -> float:  # this process and its (finished) writer processes
        own, children = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    started, cpu_started = time.perf_counter(), cpu()
    count = service.reindex(settings=settings, engine=engine, progress=progress)
    seconds, cpu_seconds = time.perf_counter() - started, cpu() - cpu_started
    size = get_backend(settings, engine).size_bytes()
    print(f"full reindex: {count} documents in {seconds:.1f} s ({count / seconds:.0f} docs/s)")
    print(f"  CPU time (this process and its writer processes): {cpu_seconds:.1f} s")
    print(f"index size: {size / 1_048_576:.1f} MiB")
    engine.dispose()


def _searcher_process(
    settings: Settings, words: mp.Queue[str | None], found: mp.Queue[tuple[str, float]]
) -> None:
    """Another web worker: a warm searcher that looks for each word until it finds it."""
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        for q in DOMAIN[:10]:  # warm: searcher open, columns and postings read
            service.search(session=session, user=None, q=q)
        found.put(("ready", time.monotonic()))
        while (word := words.get()) is not None:
            while service.search(session=session, user=None, q=word).total == 0:
                time.sleep(0.005)
                session.rollback()
            found.put((word, time.monotonic()))
    engine.dispose()


def bench_save_visible(settings: Settings, rounds: int) -> None:
    """Seconds from a save returning to the page being found by another process's searcher.

    The real path: ``pages.save_page`` commits the revision and its outbox row; this process
    runs the indexer thread (the elected worker), which drains the outbox and commits to the
    index; a second process (another web worker, with a warm searcher, facets on) searches for
    the page's new word every 5 ms until it is found. CLOCK_MONOTONIC is shared by processes.
    """
    engine = make_engine(settings)
    indexer = Indexer(settings, engine)
    indexer.start()
    ctx = mp.get_context("spawn")
    words: mp.Queue[str | None] = ctx.Queue()
    found: mp.Queue[tuple[str, float]] = ctx.Queue()
    worker = ctx.Process(target=_searcher_process, args=(settings, words, found), daemon=True)
    worker.start()
    samples: list[float] = []
    try:
        deadline = time.monotonic() + 300
        while not indexer.lock.held and time.monotonic() < deadline:
            time.sleep(0.05)
        found.get(timeout=300)  # the searcher is warm
        indexer.wait_idle(timeout=300)  # reconcile and catch-up done
        author = accounts.system_actor()
        with open_session(engine, settings) as session:
            for i in range(rounds):
                word = f"zqx{uuid.uuid4().hex[:12]}"  # new every run: a repeat save is a no-op
                pages.save_page(
                    session=session,
                    slug=f"bench/visible-{word}",
                    edit=PageEdit(title=f"Visible {i}", body=f"{word} appears now.\n"),
                    author=author,
                )
                saved = time.monotonic()
                words.put(word)
                got, when = found.get(timeout=120)
                assert got == word
                samples.append(when - saved)
                time.sleep(0.2)  # saves a little apart, as people make them
        words.put(None)
        worker.join(timeout=30)
    finally:
        if worker.is_alive():
            worker.kill()
        indexer.stop()
        engine.dispose()
    p50, p95 = _percentiles(samples)
    print(
        f"save -> searchable in another process ({rounds} saves): p50 {p50 * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Atrium search benchmark")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--backend", choices=["whoosh", "postgres"], default="whoosh")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--skip-reindex", action="store_true")
    parser.add_argument(
        "--only", nargs="+", choices=["reindex", "queries", "facets", "save"], default=None
    )
    parser.add_argument("--saves", type=int, default=60, help="saves timed to searchable")
    args = parser.parse_args()
    settings = Settings(
        data_dir=args.data_dir,
        database_url=args.database_url,
        secret_key="bench",
        search_backend=args.backend,
    )
    steps: dict[str, Callable[[], None]] = {
        "reindex": lambda: bench_reindex(settings),
        "queries": lambda: bench_queries(settings, args.runs, facets=False),
        "facets": lambda: bench_queries(settings, args.runs, facets=True),
        "save": lambda: bench_save_visible(settings, args.saves),
    }
    chosen = args.only or [s for s in steps if not (s == "reindex" and args.skip_reindex)]
    print(f"backend: {args.backend}")
    for name in chosen:
        steps[name]()
        one, five, _ = os.getloadavg()  # the machine may be shared: say how busy it was
        print(f"  (load average after {name}: {one:.1f} 1-min, {five:.1f} 5-min)")


if __name__ == "__main__":
    main()
