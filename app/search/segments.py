"""Whoosh segment files read through memory maps instead of copies (part of the Whoosh backend).

Whoosh maps a compound segment file (``.seg``) but hands each part out as a ``BufferFile``,
whose ``BytesIO(buf)`` copies the part: every reader opened held a private copy of the whole
segment (185 MiB on the bench index of 10,000 pages and 50,000 comments), in every worker, on
top of the mapped pages it had read while copying. Here each part gets a read-only map of its
own: reads are served from the page cache (shared by every process that has the index open,
and given back by the kernel under memory pressure), positional reads (``get``) slice the
map, and stream reads (``seek``/``read``, Whoosh's postings headers and term tables) go to the
map's own C ``read``, so queries cost what they did with the copies.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from typing import Any, Literal

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import BufferFile, StructFile


class PartFile(BufferFile):  # type: ignore[misc]
    """One part of a compound segment file, as a map of the bytes it spans.

    A map must start at a multiple of the allocation granularity, so it starts up to one
    granule before the part and positions are shifted by that much.
    """

    def __init__(self, fileno: int, offset: int, length: int, name: str | None = None) -> None:
        start = offset - offset % mmap.ALLOCATIONGRANULARITY
        self._shift = offset - start
        self._map = mmap.mmap(fileno, self._shift + length, access=mmap.ACCESS_READ, offset=start)
        self._map.seek(self._shift)
        self._buf = memoryview(self._map)[self._shift :]
        self._name = name
        self.file = self._map  # read, readline and pickle.load read the map directly
        self.onclose = None
        self.is_real = False
        self.is_closed = False

    def seek(self, position: int, whence: Literal[0, 1, 2] = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            position += self._shift
        self._map.seek(position, whence)
        return self._map.tell() - self._shift

    def tell(self) -> int:
        return self._map.tell() - self._shift

    def close(self) -> None:
        if self.is_closed:
            return
        self.is_closed = True
        with contextlib.suppress(BufferError):  # a view still in use: the collector unmaps it
            self._buf.release()
            self._map.close()


class _SegmentFile(StructFile):  # type: ignore[misc]
    """A compound segment file on disk whose parts are handed out as ``PartFile`` maps."""

    def subset(self, offset: int, length: int, name: str | None = None) -> StructFile:
        if length == 0:  # an empty map is refused; nothing to read anyway
            return BufferFile(memoryview(b""), name=name)
        return PartFile(self.file.fileno(), offset, length, name=name)


class MappedStorage(FileStorage):  # type: ignore[misc]
    """The index directory, read only, with compound segments opened as ``PartFile`` maps.

    Whoosh's ``CompoundStorage`` uses the file's ``subset`` when told the storage does not map
    files itself (``supports_mmap=False``); that is where the maps are made.
    """

    def __init__(self, folder: str) -> None:
        super().__init__(folder, supports_mmap=False, readonly=True)

    def open_file(self, name: str, **kwargs: Any) -> StructFile:
        return _SegmentFile(open(self._fpath(name), "rb"), name=name, **kwargs)
