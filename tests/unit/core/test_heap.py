"""A started worker keeps its start-up objects out of the garbage collector's full passes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from app.core.db import ROOT

# a process of its own: the freeze is once per process, and this test process has started
# applications before
SCRIPT = textwrap.dedent(
    """
    import gc, json, sys
    from fastapi.testclient import TestClient
    from app.core.config import Settings
    from app.core.db import migrate
    from app.main import create_app

    settings = Settings(data_dir=sys.argv[1], secret_key="k", search_indexer=False)
    migrate(settings)
    app = create_app(settings)
    before = gc.get_freeze_count()
    with TestClient(app) as client:
        frozen = gc.get_freeze_count()
        ok = client.get("/recent").status_code
        with TestClient(create_app(settings)):
            again = gc.get_freeze_count()
    print(json.dumps({"before": before, "frozen": frozen, "tracked": len(gc.get_objects()),
                      "ok": ok, "again": again}))
    """
)


def test_start_up_objects_are_frozen_once_per_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "data")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["before"] == 0
    assert seen["ok"] == 200
    # the application's routes, schemas and modules: well over what requests leave behind
    assert seen["frozen"] > 50_000
    assert seen["tracked"] < seen["frozen"] / 2
    # a second application in the same process (as in the tests) does not freeze again: its
    # own objects would add to the count (frozen objects freed by their reference count leave it)
    assert seen["again"] <= seen["frozen"]
