"""The `atrium` command: serve, migrate, import, export, users and tokens."""

from __future__ import annotations

import ctypes
import logging
import os
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.accounts import service as accounts
from app.accounts.models import Role, TokenScope
from app.accounts.schemas import UserCreate
from app.core.config import Settings
from app.core.db import make_engine, migrate, session_scope
from app.core.errors import DomainError
from app.pages import transfer

app = typer.Typer(help="Atrium: co-design your IT operating model.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
decisions_app = typer.Typer(help="Decision records.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(decisions_app, name="decisions")
reviews_app = typer.Typer(help="Page ownership and review cycles.", no_args_is_help=True)
app.add_typer(reviews_app, name="reviews")
attachments_app = typer.Typer(help="Files attached to pages.", no_args_is_help=True)
app.add_typer(attachments_app, name="attachments")
console = Console(stderr=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[item]}"),
        console=console,
    )


def _fail(exc: DomainError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc.detail}")
    return typer.Exit(code=1)


@app.command("migrate")
def migrate_cmd() -> None:
    """Apply database migrations up to the newest."""
    settings = Settings()
    migrate(settings)
    console.print("Database is up to date.")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="port to bind")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes")] = None,
    reload: Annotated[bool, typer.Option(help="reload on code changes")] = False,
) -> None:
    """Migrate, then serve the wiki with uvicorn."""
    settings = Settings()
    migrate(settings)
    settings.resolved_secret_key  # noqa: B018 - create it once, before workers race for it
    # uvicorn replaces this process (same pid, signals and output) rather than running in it:
    # this one has imported the whole application and run the migrations, ~90 MiB that its
    # supervisor would keep for the server's lifetime; the workers import the app themselves
    # (-P and --app-dir: the app is imported from where this module is, never the current dir)
    args = ["app.main:create_app", "--factory", "--proxy-headers", "--log-level", "info"]
    args += ["--app-dir", str(Path(__file__).resolve().parent.parent)]
    args += ["--host", host or settings.host, "--port", str(port or settings.port)]
    args += ["--workers", str(workers or settings.workers)] + (["--reload"] if reload else [])
    # a worker still starting on a busy machine (building the app, opening the search index)
    # is not a hung one: uvicorn's 5 s health check killed and restarted workers at load 10
    args += ["--timeout-worker-healthcheck", "30"]
    # glibc gives each thread that allocates its own heap arena (up to 8 per core), and the
    # thread pool of a worker keeps memory freed in one arena from being reused by the others:
    # two arenas took ~25 MiB off each worker's RSS under the bench load (full data set)
    env = {"MALLOC_ARENA_MAX": "2", **os.environ}
    if settings.search_indexer:
        _start_indexer(env)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-P", "-m", "uvicorn", *args], env)


def _start_indexer(env: dict[str, str]) -> None:
    """Start ``atrium indexer`` beside the workers, and wait until it has tried the indexer
    lock, so that the workers' own indexer threads find it taken and stand by.

    It is this process's child (uvicorn's, after the exec) and is sent SIGTERM when its parent
    ends (Linux ``PR_SET_PDEATHSIG``); Ctrl-C reaches it with the rest of the process group.
    """
    global _indexer
    read, write = os.pipe()
    command = [sys.executable, "-P", "-c", "from app.cli import app; app()", "indexer"]
    _indexer = subprocess.Popen(
        [*command, "--ready-fd", str(write)],
        pass_fds=(write,),
        preexec_fn=_end_with_parent,
        env=env,
    )
    os.close(write)
    try:
        # the child writes a byte when ready, or the pipe closes if it fails; after 60 s the
        # workers start anyway (one of them indexes meanwhile, as without this process)
        select.select([read], [], [], 60)
    finally:
        os.close(read)


def _end_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1
_indexer: subprocess.Popen[bytes] | None = None  # the child started by _start_indexer


@app.command("indexer")
def indexer_cmd(
    ready_fd: Annotated[
        int | None, typer.Option(hidden=True, help="write a byte to this fd when ready")
    ] = None,
) -> None:
    """Run the search indexer in this process until stopped (`atrium serve` starts one).

    Drains the changes the web workers record into the search index; only one indexer writes
    at a time (a lock), so a second one waits and takes over when the first ends.
    """
    from app.search.backends import release_backend
    from app.search.indexer import run_dedicated

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    settings = Settings()
    engine = make_engine(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    def ready() -> None:
        if ready_fd is not None:
            os.write(ready_fd, b"1")
            os.close(ready_fd)

    try:
        run_dedicated(settings, engine, stop, ready=ready)
    finally:
        release_backend(settings, engine)
        engine.dispose()


@app.command("import")
def import_cmd(
    directory: Annotated[Path, typer.Argument(help="folder of markdown files with front matter")],
    as_user: Annotated[str | None, typer.Option("--as", help="attribute to this user")] = None,
) -> None:
    """Import markdown pages; only changed pages get a new revision (idempotent)."""
    settings = Settings()
    engine = make_engine(settings)
    with session_scope(engine, settings) as session:
        try:
            author = (
                accounts.get_user(session=session, username=as_user)
                if as_user
                else accounts.system_actor()
            )
            files = transfer.markdown_files(directory)
        except DomainError as exc:
            raise _fail(exc) from exc
        with _progress() as progress:
            task = progress.add_task("Importing", total=len(files), item="")
            report = transfer.import_directory(
                session=session,
                directory=directory,
                author=author,
                progress=lambda slug: progress.update(task, advance=1, item=slug),
            )
    console.print(
        f"{len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.failed)} failed."
    )
    for slug, reason in report.failed.items():
        console.print(f"[red]failed[/red] {slug}: {reason}")
    if report.failed:
        raise typer.Exit(code=1)


@app.command("export")
def export_cmd(
    directory: Annotated[Path, typer.Argument(help="folder to write markdown files into")],
) -> None:
    """Write every page as markdown with front matter (the format `import` reads)."""
    settings = Settings()
    engine = make_engine(settings)
    with session_scope(engine, settings) as session, _progress() as progress:
        task = progress.add_task("Exporting", total=None, item="")
        count = transfer.export_directory(
            session=session,
            directory=directory,
            progress=lambda slug: progress.update(task, advance=1, item=slug),
        )
    console.print(f"{count} pages written to {directory}.")


@app.command()
def reindex() -> None:
    """Rebuild the search index from the database into a new index and swap it in atomically.

    Searches keep being served from the old index meanwhile; changes saved during the rebuild
    are caught up afterwards.
    """
    from app.search import service as search

    settings = Settings()
    engine = make_engine(settings)
    with _progress() as progress:
        task = progress.add_task("Indexing", total=None, item="")
        try:
            count = search.reindex(
                settings=settings,
                engine=engine,
                progress=lambda done, total: progress.update(
                    task, completed=done, total=total, item=""
                ),
            )
        except DomainError as exc:
            raise _fail(exc) from exc
    console.print(f"{count} documents indexed with the {settings.search_backend} backend.")


@app.command("backup")
def backup_cmd(
    target: Annotated[Path, typer.Argument(help="archive to write (.tar.gz)")],
) -> None:
    """Write a consistent backup (database, attachments, markdown export) while the wiki runs."""
    from app.backup import service as backups

    settings = Settings()
    with _progress() as progress:
        task = progress.add_task("Backing up", total=None, item="")
        try:
            report = backups.backup(
                settings=settings,
                target=target,
                progress=lambda step: progress.update(task, advance=1, item=step),
            )
        except DomainError as exc:
            raise _fail(exc) from exc
    console.print(
        f"Backup written to {report.path} ({report.size:,} bytes): {report.pages} pages, "
        f"{report.revisions} revisions, {report.files} files, {report.backend} schema "
        f"{report.revision}."
    )


@app.command("restore")
def restore_cmd(
    source: Annotated[Path, typer.Argument(help="archive written by `atrium backup`")],
    force: Annotated[bool, typer.Option(help="replace a wiki that already has pages")] = False,
) -> None:
    """Bring a backup back (stop the server first), then rebuild the search index."""
    from app.backup import service as backups

    settings = Settings()
    with _progress() as progress:
        task = progress.add_task("Restoring", total=None, item="")
        try:
            report = backups.restore(
                settings=settings,
                source=source,
                force=force,
                progress=lambda step: progress.update(task, item=step),
                reindex_progress=lambda done, total: progress.update(
                    task, completed=done, total=total, item="indexing"
                ),
            )
        except DomainError as exc:
            raise _fail(exc) from exc
    console.print(
        f"Restored {report.pages} pages, {report.revisions} revisions and {report.files} files; "
        f"{report.indexed} documents indexed."
    )


@decisions_app.command("review")
def decisions_review() -> None:
    """Notify the deciders of accepted decisions whose review date has come (once per date).

    The server runs this check every hour by itself; use this from cron when it is not running.
    """
    from app.decisions import reminders

    settings = Settings()
    due = reminders.run_once(make_engine(settings), settings)
    console.print(f"{due} decision{'s' if due != 1 else ''} due for review; deciders notified.")


@attachments_app.command("gc")
def attachments_gc(
    grace: Annotated[
        float, typer.Option(help="keep unreferenced files younger than this many seconds")
    ] = 3600,
) -> None:
    """Remove stored files no attachment version refers to (left by uploads whose save failed)."""
    from app.attachments import service as attachments

    settings = Settings()
    with session_scope(make_engine(settings), settings) as session:
        removed = attachments.collect_garbage(session=session, grace_seconds=grace)
    console.print(f"{removed} unreferenced file{'s' if removed != 1 else ''} removed.")


@reviews_app.command("check")
def reviews_check() -> None:
    """Notify the owners of pages whose review date has come (once per date); they become
    "needs review".

    The server runs this check every hour by itself; use this from cron when it is not running.
    """
    from app.reviews import reminders

    settings = Settings()
    due = reminders.run_once(make_engine(settings), settings)
    console.print(f"{due} page{'s' if due != 1 else ''} became due for review; owners notified.")


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[Role, typer.Option(help="reader, editor, facilitator or admin")] = Role.editor,
    password: Annotated[
        str | None, typer.Option(help="password; prompted for when omitted")
    ] = None,
    display_name: Annotated[str, typer.Option(help="name shown to others")] = "",
    email: Annotated[str | None, typer.Option(help="e-mail address")] = None,
) -> None:
    """Create a user."""
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = Settings()
    engine = make_engine(settings)
    try:
        data = UserCreate(
            username=username,
            password=password,
            role=role,
            display_name=display_name,
            email=email,
        )
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    with session_scope(engine, settings) as session:
        try:
            accounts.create_user(session=session, data=data)
        except DomainError as exc:
            raise _fail(exc) from exc
    console.print(f"User {username} ({role}) created.")


@user_app.command("passwd")
def user_passwd(
    username: str,
    password: Annotated[
        str | None, typer.Option(help="new password; prompted when omitted")
    ] = None,
) -> None:
    """Set a user's password (ends their sessions)."""
    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    settings = Settings()
    with session_scope(make_engine(settings), settings) as session:
        try:
            accounts.set_password(session=session, username=username, password=password)
        except DomainError as exc:
            raise _fail(exc) from exc
    console.print(f"Password of {username} changed; their sessions were ended.")


@user_app.command("ensure-admin")
def user_ensure_admin() -> None:
    """Create an admin with a one-time password if there are no users yet."""
    settings = Settings()
    with session_scope(make_engine(settings), settings) as session:
        created = accounts.ensure_admin(session=session)
    if created is None:
        return
    user, password = created
    typer.echo(
        f"\n  Created the first user: {user.username} / {password}\n"
        "  This password is shown once; change it with `atrium user passwd admin`.\n"
    )


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="what the token is for")] = "",
    days: Annotated[int | None, typer.Option(help="expires after this many days")] = None,
    scope: Annotated[
        TokenScope, typer.Option(help="read (GET/HEAD only) or write (everything)")
    ] = TokenScope.write,
) -> None:
    """Create an API bearer token for USER (printed once; stored hashed)."""
    settings = Settings()
    with session_scope(make_engine(settings), settings) as session:
        try:
            _, token = accounts.create_token(
                session=session, username=username, name=name, days=days, scope=scope
            )
        except DomainError as exc:
            raise _fail(exc) from exc
    typer.echo(token)
