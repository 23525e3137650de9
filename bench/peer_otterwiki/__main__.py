"""``python -m bench.peer_otterwiki [--seconds 3]``: the peer alone, on the cached data set.

``make bench`` runs it inside ``bench.server_bench``, side by side with Atrium; this entry point
is for trying the peer's setup (install, load, serve) without the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil

from bench import dataset
from bench.server_bench import WORK, Bench, run_peer


def main() -> None:
    parser = argparse.ArgumentParser(description="An Otter Wiki on the benchmark data set")
    parser.add_argument("--size", choices=sorted(dataset.SIZES), default="small")
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", 2)))
    args = parser.parse_args()
    ds = dataset.ensure(args.size)
    shutil.rmtree(WORK / "otterwiki", ignore_errors=True)
    WORK.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {}
    run_peer(ds, Bench(args.seconds), ds.slugs(200), args.workers, results)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
