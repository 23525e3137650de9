"""Attachments service: dedup by hash, versions, restore, soft delete, limits, permissions."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.attachments import service
from app.attachments.models import Attachment, AttachmentVersion
from app.core.config import Settings
from app.core.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge, Unauthorized
from app.pages import service as pages
from tests.factories import make_page, make_user
from tests.unit.attachments import samples

SLUG = "core-processes/r2v"


@pytest.fixture
def alice(session: Session) -> User:
    return make_user(session, username="alice", role=Role.editor)


@pytest.fixture(autouse=True)
def page(session: Session, alice: User) -> None:
    make_page(session, slug=SLUG, title="R2V", body="Text", author=alice)


def _up(
    session: Session, user: User | None, data: bytes, name: str = "diagram.png", **kw: bool
) -> service.UploadResult:
    return service.upload(
        session=session, slug=SLUG, filename=name, stream=io.BytesIO(data), user=user, **kw
    )


def _blobs(settings: Settings) -> list[Path]:
    root = settings.data_dir / "attachments"
    return [p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp"]


def test_upload_stores_the_file_by_hash(session: Session, alice: User, settings: Settings) -> None:
    data = samples.png()
    result = _up(session, alice, data)
    assert result.created
    assert not result.unchanged
    a = result.attachment
    assert (a.name, a.head, a.size, a.content_type) == ("diagram.png", 1, len(data), "image/png")
    content = service.open_content(session=session, slug=SLUG, name="diagram.png", user=None)
    assert content.path.read_bytes() == data
    assert content.path == settings.data_dir / "attachments" / a.sha256[:2] / a.sha256[2:]
    assert not list((settings.data_dir / "attachments" / "tmp").iterdir())


def test_same_bytes_are_stored_once(session: Session, alice: User, settings: Settings) -> None:
    data = samples.png()
    _up(session, alice, data, "one.png")
    _up(session, alice, data, "two.png")
    assert len(_blobs(settings)) == 1
    names = [
        v.attachment.name for v in service.list_attachments(session=session, slug=SLUG, user=None)
    ]
    assert names == ["one.png", "two.png"]


def test_uploading_a_name_again_adds_a_version_and_restore_brings_one_back(
    session: Session, alice: User
) -> None:
    first, second = samples.png(color=(1, 2, 3)), samples.png(color=(200, 100, 0))
    _up(session, alice, first)
    again = _up(session, alice, first)
    assert again.unchanged
    assert again.attachment.head == 1
    replaced = _up(session, alice, second)
    assert replaced.attachment.head == 2
    assert not replaced.created
    current = service.open_content(session=session, slug=SLUG, name="diagram.png", user=None)
    assert current.path.read_bytes() == second
    old = service.open_content(session=session, slug=SLUG, name="diagram.png", user=None, version=1)
    assert old.path.read_bytes() == first

    restored = service.restore_version(
        session=session, slug=SLUG, name="diagram.png", number=1, user=alice
    )
    assert (restored.number, restored.restored_from) == (3, 1)
    view = service.get_attachment(session=session, slug=SLUG, name="diagram.png", user=None)
    assert [v.number for v in view.versions] == [3, 2, 1]
    assert view.uploader is not None
    assert view.uploader.username == "alice"
    now = service.open_content(session=session, slug=SLUG, name="diagram.png", user=None)
    assert now.path.read_bytes() == first
    with pytest.raises(Invalid, match="already the current one"):
        service.restore_version(
            session=session, slug=SLUG, name="diagram.png", number=3, user=alice
        )
    with pytest.raises(NotFound):
        service.restore_version(
            session=session, slug=SLUG, name="diagram.png", number=9, user=alice
        )


def test_paste_with_a_taken_name_gets_a_free_one(session: Session, alice: User) -> None:
    _up(session, alice, samples.png(color=(1, 1, 1)), "image.png", replace=False)
    second = _up(session, alice, samples.png(color=(2, 2, 2)), "image.png", replace=False)
    third = _up(session, alice, samples.png(color=(3, 3, 3)), "image.png", replace=False)
    assert (second.attachment.name, third.attachment.name) == ("image-2.png", "image-3.png")


def test_soft_delete_and_undelete(session: Session, alice: User) -> None:
    _up(session, alice, samples.PDF, "report.pdf")
    service.delete_attachment(session=session, slug=SLUG, name="report.pdf", user=alice)
    assert service.list_attachments(session=session, slug=SLUG, user=None) == []
    deleted = service.list_attachments(session=session, slug=SLUG, user=None, deleted=True)
    assert [d.attachment.name for d in deleted] == ["report.pdf"]
    for version in (None, 1):
        with pytest.raises(NotFound):
            service.open_content(
                session=session, slug=SLUG, name="report.pdf", user=None, version=version
            )
    service.undelete_attachment(session=session, slug=SLUG, name="report.pdf", user=alice)
    content = service.open_content(session=session, slug=SLUG, name="report.pdf", user=None)
    assert content.path.read_bytes() == samples.PDF
    with pytest.raises(Invalid, match="not deleted"):
        service.undelete_attachment(session=session, slug=SLUG, name="report.pdf", user=alice)


def test_uploading_over_a_deleted_name_brings_it_back_with_a_new_version(
    session: Session, alice: User
) -> None:
    _up(session, alice, samples.png(color=(1, 1, 1)))
    service.delete_attachment(session=session, slug=SLUG, name="diagram.png", user=alice)
    result = _up(session, alice, samples.png(color=(1, 1, 1)))
    assert not result.attachment.is_deleted
    assert result.attachment.head == 2


def test_over_the_limit_is_refused_and_nothing_is_written(
    session: Session, alice: User, settings: Settings
) -> None:
    session.info["settings"] = settings.model_copy(update={"max_attachment_bytes": 1000})
    with pytest.raises(TooLarge, match="larger than the limit of 1000 bytes"):
        _up(session, alice, b"a" * 1001, "big.txt")
    assert _blobs(settings) == []
    assert not list((settings.data_dir / "attachments" / "tmp").iterdir())
    assert session.exec(select(Attachment)).all() == []
    _up(session, alice, b"a" * 1000, "fits.txt")  # exactly the limit is fine


@pytest.mark.parametrize(
    ("data", "name", "error"),
    [
        (b"", "empty.txt", "empty"),
        (samples.HTML, "cat.png", "is not a PNG image"),
        (b"MZ" + b"\x00" * 100, "setup.exe", r"\.exe files are not allowed"),
        (samples.jpeg(), "photo.png", "is not a PNG image"),
    ],
)
def test_bad_files_are_refused_with_nothing_written(
    session: Session, alice: User, settings: Settings, data: bytes, name: str, error: str
) -> None:
    with pytest.raises(Invalid, match=error):
        _up(session, alice, data, name)
    assert _blobs(settings) == []
    assert session.exec(select(AttachmentVersion)).all() == []


def test_path_tricks_in_names_stay_inside_the_data_dir(
    session: Session, alice: User, settings: Settings
) -> None:
    result = _up(session, alice, b"x", "../../../../etc/passwd")
    assert result.attachment.name == "passwd.txt"
    result = _up(session, alice, b"y", "..\\..\\boot.ini\x00.txt")
    assert result.attachment.name == "boot.ini.txt"
    assert all(settings.data_dir in p.parents for p in _blobs(settings))


def test_permissions(session: Session, alice: User) -> None:
    rita = make_user(session, username="rita", role=Role.reader)
    _up(session, alice, samples.png())
    with pytest.raises(Unauthorized):
        _up(session, None, samples.png(), "x.png")
    with pytest.raises(Forbidden):
        _up(session, rita, samples.png(), "x.png")
    with pytest.raises(Forbidden):
        service.delete_attachment(session=session, slug=SLUG, name="diagram.png", user=rita)
    with pytest.raises(Forbidden):
        service.restore_version(session=session, slug=SLUG, name="diagram.png", number=1, user=rita)
    # readers (and visitors, when the wiki is public) read
    assert service.list_attachments(session=session, slug=SLUG, user=rita)
    assert service.open_content(session=session, slug=SLUG, name="diagram.png", user=None)


def test_unknown_page_or_name_is_not_found(session: Session, alice: User) -> None:
    with pytest.raises(NotFound):
        service.open_content(session=session, slug=SLUG, name="nope.png", user=None)
    with pytest.raises(NotFound):
        service.list_attachments(session=session, slug="no/such/page", user=None)
    # never a database error (PostgreSQL refuses NUL): simply not found
    with pytest.raises(NotFound):
        service.open_content(session=session, slug=SLUG, name="a\x00.png", user=None)
    with pytest.raises(NotFound):
        service.open_content(session=session, slug="a\x00b", name="a.png", user=None)
    with pytest.raises(NotFound):
        service.open_content(session=session, slug=SLUG, name="../../etc/passwd", user=None)
    with pytest.raises(NotFound):
        service.upload(
            session=session, slug="no/such", filename="a.png", stream=io.BytesIO(b"x"), user=alice
        )


def test_files_follow_a_moved_page_and_a_deleted_page_is_read_only(
    session: Session, alice: User
) -> None:
    _up(session, alice, samples.png())
    pages.move_page(session=session, slug=SLUG, new_slug="processes/r2v", author=alice)
    for slug in ("processes/r2v", SLUG):  # the old address still finds them
        assert service.open_content(session=session, slug=slug, name="diagram.png", user=None)
    pages.delete_page(session=session, slug="processes/r2v", author=alice)
    assert service.open_content(
        session=session, slug="processes/r2v", name="diagram.png", user=None
    )
    with pytest.raises(Conflict, match="deleted"):
        service.upload(
            session=session,
            slug="processes/r2v",
            filename="b.png",
            stream=io.BytesIO(samples.png()),
            user=alice,
        )


def test_thumbnails_are_cached_by_hash_and_width(session: Session, alice: User) -> None:
    _up(session, alice, samples.png(400, 200), "wide.png")
    content = service.open_content(session=session, slug=SLUG, name="wide.png", user=None)
    thumb = service.thumbnail(content=content, session=session, width=160)
    assert thumb is not None
    assert thumb.path.name == f"{content.sha256}-160.jpg"
    with Image.open(thumb.path) as im:
        assert im.size == (160, 80)
    # an image narrower than the thumbnail is sent as it is
    assert service.thumbnail(content=content, session=session, width=960) is None


def test_garbage_collection_removes_only_unreferenced_old_files(
    session: Session, alice: User, settings: Settings
) -> None:
    _up(session, alice, samples.png())
    stray = settings.data_dir / "attachments" / "ab" / ("c" * 62)
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"left by a failed commit")
    assert service.collect_garbage(session=session, grace_seconds=3600) == 0  # too young
    assert service.collect_garbage(session=session, grace_seconds=-1) == 1
    assert not stray.exists()
    assert len(_blobs(settings)) == 1


def test_a_failed_commit_leaves_no_row(
    session: Session, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(session, "commit", boom)
    with pytest.raises(RuntimeError):
        _up(session, alice, samples.png())
    session.rollback()
    monkeypatch.undo()
    assert session.exec(select(Attachment)).all() == []
    assert accounts.get_user(session=session, username="alice")
