"""Helper processes for the concurrency tests (run with ``python -m``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from app.accounts import service as accounts
from app.core.config import Settings
from app.core.db import make_engine, open_session
from app.pages import service as pages
from app.pages.schemas import PageEdit
from app.search import sources
from app.search.documents import doc_key
from app.search.index import WhooshBackend, _fields
from app.search.indexer import Indexer


def write(data_dir: Path, worker: int, count: int) -> None:
    """Save pages and, whenever the lock is free, index them: many writers through one lock."""
    settings = Settings(data_dir=data_dir, secret_key="t", search_indexer=False)
    engine = make_engine(settings)
    indexer = Indexer(settings, engine, batch_size=7)
    author = accounts.system_actor()
    with open_session(engine, settings) as session:
        for i in range(count):
            slug = f"w{worker}/page-{i}"
            edit = PageEdit(title=f"Worker {worker} page {i}", body=f"concurrency v1 w{worker}\n")
            pages.save_page(session=session, slug=slug, edit=edit, author=author)
            page = pages.get_page(session=session, slug=slug, user=author)
            edit = PageEdit(title=edit.title, body=f"concurrency v2 w{worker}\n", base=page.head)
            pages.save_page(session=session, slug=slug, edit=edit, author=author)
            if indexer.lock.acquire():
                try:
                    indexer.backend.ensure()
                    indexer.drain_once()
                finally:
                    indexer.lock.release()
    engine.dispose()


def stall(data_dir: Path, ready: Path) -> None:
    """Lead, start writing a batch to the index, then hang before committing (to be killed)."""
    settings = Settings(data_dir=data_dir, secret_key="t", search_indexer=False)
    engine = make_engine(settings)
    indexer = Indexer(settings, engine)
    assert indexer.try_lead()
    backend = indexer.backend
    assert isinstance(backend, WhooshBackend)
    with open_session(engine, settings) as session:
        ids = sorted(sources.get("page").versions(session))  # type: ignore[union-attr]
        docs = sources.get("page").load(session, ids)  # type: ignore[union-attr]
    ix = backend._open()
    writer = ix.writer()
    for doc in docs:
        writer.delete_by_term("key", doc_key(doc.kind, doc.ref_id))
        writer.add_document(**_fields(doc))
    ready.write_text("writing")
    time.sleep(60)  # killed here, mid-batch, holding both locks


if __name__ == "__main__":
    mode, data = sys.argv[1], Path(sys.argv[2])
    if mode == "write":
        write(data, int(sys.argv[3]), int(sys.argv[4]))
    else:
        stall(data, Path(sys.argv[3]))
