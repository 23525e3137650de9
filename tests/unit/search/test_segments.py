"""Compound segment parts are read through maps of the file, not copied into memory."""

from __future__ import annotations

import mmap
import pickle
import struct
from datetime import UTC, datetime
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.filedb.structfile import BufferFile

from app.search.documents import SearchDocument
from app.search.index import WhooshBackend, _open_searcher
from app.search.segments import PartFile


def test_a_part_reads_as_a_copy_of_its_bytes_would(tmp_path: Path) -> None:
    offset = mmap.ALLOCATIONGRANULARITY + 123  # not on a map boundary: positions are shifted
    part = struct.pack(">i", 7) + pickle.dumps({"a": 1}) + b"tail"
    path = tmp_path / "compound"
    path.write_bytes(b"x" * offset + part + b"after")
    copy = BufferFile(memoryview(part))
    with path.open("rb") as fh:
        mapped = PartFile(fh.fileno(), offset, len(part), name="p")
    for f in (copy, mapped):
        assert f.get(4, 3) == part[4:7]
        f.seek(0)
        assert f.read_int() == 7
        assert f.read_pickle() == {"a": 1}
        assert f.read() == b"tail"
        assert f.tell() == len(part)
        assert f.seek(-4, 2) == len(part) - 4
        assert f.read(2) == b"ta"
        f.seek(1, 1)
        assert f.tell() == len(part) - 1
    mapped.close()
    mapped.close()  # twice is harmless


def _doc(n: int) -> SearchDocument:
    return SearchDocument(
        kind="page",
        ref_id=n,
        title=f"Atlas {n}",
        body=f"Cartography of estate number {n}.",
        url=f"/wiki/atlas-{n}",
        updated=datetime(2026, 1, 1, tzinfo=UTC),
        version=f"v{n}",
        path=f"atlas-{n}",
    )


def test_searcher_segments_are_mapped_not_copied(tmp_path: Path) -> None:
    backend = WhooshBackend(tmp_path / "search")
    docs = [_doc(n) for n in range(1, 30)]
    backend.rebuild(docs, total=len(docs))
    ix = whoosh_index.open_dir(str(backend.current.resolve()))
    with _open_searcher(ix, None) as searcher:
        compound = searcher.reader().storage().a  # the segment's parts (an overlay's first)
        parts = [compound.open_file(name) for name in compound.list()]
        assert any(isinstance(f, PartFile) for f in parts)
        # no part is a copy (an empty part has nothing to map: an empty buffer it is)
        assert all(isinstance(f, PartFile) or not f.get(0, 1) for f in parts)
        for f in parts:
            f.close()
        assert searcher.doc_count() == 29
    ix.close()
    assert len(backend.indexed_versions()) == 29
