"""Settings: the only module that reads the environment (prefix ``ATRIUM_``)."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything configurable about one Atrium instance."""

    model_config = SettingsConfigDict(env_prefix="ATRIUM_", extra="ignore")

    data_dir: Path = Field(default=Path("./data"), description="SQLite file, index, attachments")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite in the data dir"
    )
    host: str = Field(default="127.0.0.1", description="address `atrium serve` binds")
    port: int = Field(default=8000, description="port `atrium serve` binds")
    secret_key: str | None = Field(
        default=None, description="signs CSRF tokens; generated and kept in the data dir if unset"
    )
    workers: int = Field(default=1, description="uvicorn worker processes for `atrium serve`")
    max_body_bytes: int = Field(default=512_000, description="largest page body accepted")
    max_title_chars: int = Field(default=200, description="longest page title accepted")
    max_attachment_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1, description="largest attachment accepted (bytes)"
    )
    public_read: bool = Field(default=True, description="anonymous visitors may read pages")
    session_days: int = Field(default=14, description="days a sign-in session lasts")
    cookie_secure: bool | None = Field(
        default=None, description="Secure cookies; default: on when the request is HTTPS"
    )
    render_cache_size: int = Field(default=512, description="rendered revisions kept in memory")
    page_cache_mb: int = Field(
        default=32,
        ge=0,
        description="memory per process for whole page views served to visitors who are not "
        "signed in (0: off); each is checked against the database's content version",
    )
    page_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        description="longest a cached page view is reused even if nothing changed (dates shown "
        "relative to today, such as an overdue review, move on)",
    )
    template_reload: bool = Field(
        default=False,
        description="look for changed template files at every render (for template work; "
        "off, each template is read once per process)",
    )
    search_backend: Literal["whoosh", "postgres"] = Field(
        default="whoosh",
        description="full-text search backend: whoosh (index in the data dir) or postgres "
        "(PostgreSQL full-text search; needs a PostgreSQL database)",
    )
    search_indexer: bool = Field(
        default=True,
        description=(
            "run the search indexer: `atrium serve` starts an `atrium indexer` process, and the"
            " web workers stand by to take over (one indexer at a time, by a lock)"
        ),
    )
    search_poll_seconds: float = Field(
        default=0.2, description="how often the search indexer looks for new changes"
    )
    # e-mail notifications: off unless an SMTP host is configured
    smtp_host: str | None = Field(
        default=None, description="SMTP server for notification e-mails; unset: no e-mail"
    )
    smtp_port: int = Field(default=587, description="SMTP server port")
    smtp_username: str | None = Field(default=None, description="SMTP user, if it needs a login")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password")
    smtp_starttls: bool = Field(default=True, description="upgrade the SMTP connection with TLS")
    smtp_timeout: float = Field(default=10.0, description="seconds to wait for the SMTP server")
    mail_from: str = Field(default="atrium@localhost", description="From address of e-mails")
    mail_interval: float = Field(default=15.0, description="seconds between delivery runs")
    mail_max_attempts: int = Field(default=5, description="tries before an e-mail is failed")
    mail_retry_seconds: float = Field(
        default=60.0, description="wait before the first retry; doubled for each further one"
    )
    # webhooks: deliveries sent by a background worker in each app process
    webhook_worker: bool = Field(
        default=True, description="this process sends webhook deliveries in the background"
    )
    webhook_interval: float = Field(
        default=2.0, description="seconds between looks for webhook deliveries that are due"
    )
    webhook_timeout: float = Field(default=10.0, description="seconds to wait for a receiver")
    webhook_max_attempts: int = Field(
        default=8, ge=1, description="tries before a webhook delivery is marked failed"
    )
    webhook_backoff_seconds: list[float] = Field(
        default=[30.0, 120.0, 600.0, 3600.0, 21600.0],
        min_length=1,
        description="waits before each retry (JSON list); the last one repeats",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000", description="public address, for links in e-mails"
    )
    # sign-in throttling: counted in the database, so it holds across processes and servers
    login_max_failures: int = Field(
        default=5, description="failed sign-ins for one account within the window before a lock"
    )
    login_address_max_failures: int = Field(
        default=20, description="failed sign-ins from one client address within the window"
    )
    login_window_minutes: int = Field(
        default=15, description="minutes over which failed sign-ins are counted"
    )
    login_lockout_minutes: int = Field(
        default=15, description="first lock-out; doubled for each further one within a day"
    )
    login_lockout_max_minutes: int = Field(default=1440, description="longest lock-out")
    # single sign-on (OpenID Connect): off unless an issuer is configured
    oidc_issuer: str | None = Field(
        default=None,
        description="OpenID Connect issuer URL (its discovery document is at "
        "<issuer>/.well-known/openid-configuration); unset: no single sign-on",
    )
    oidc_client_id: str = Field(default="", description="client id registered at the provider")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="client secret registered at the provider"
    )
    oidc_provider_name: str = Field(
        default="single sign-on", description='shown on the button: "Sign in with <name>"'
    )
    oidc_scopes: str = Field(
        default="openid email profile", description="scopes asked of the provider"
    )
    oidc_default_role: Literal["reader", "editor", "facilitator"] = Field(
        default="reader",
        description="role of an account created at its first single sign-on (never admin)",
    )
    oidc_allow_create: bool = Field(
        default=True,
        description="create an account at the first single sign-on; off: only link to an "
        "existing account with the same verified e-mail address",
    )
    oidc_only: bool = Field(
        default=False,
        description="single sign-on only: no password form and no password sign-in "
        "(turn off again to let administrators in if the provider is down)",
    )
    oidc_timeout: float = Field(default=10.0, description="seconds to wait for the provider")

    @property
    def mail_enabled(self) -> bool:
        """Whether notification e-mails are sent (an SMTP host is configured)."""
        return bool(self.smtp_host)

    @property
    def oidc_enabled(self) -> bool:
        """Whether single sign-on is offered (an OpenID Connect issuer is configured)."""
        return bool(self.oidc_issuer)

    @model_validator(mode="after")
    def _check_oidc(self) -> Settings:
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret):
            raise ValueError(
                "ATRIUM_OIDC_ISSUER needs ATRIUM_OIDC_CLIENT_ID and ATRIUM_OIDC_CLIENT_SECRET"
            )
        return self

    @model_validator(mode="after")
    def _check_search_backend(self) -> Settings:
        if self.search_backend == "postgres" and not self.resolved_database_url.startswith(
            "postgresql"
        ):
            raise ValueError(
                "ATRIUM_SEARCH_BACKEND=postgres needs a PostgreSQL ATRIUM_DATABASE_URL"
            )
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'atrium.sqlite3').resolve()}"

    @cached_property
    def resolved_secret_key(self) -> str:
        """The secret key; generated once and kept in the data directory when not configured."""
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "secret_key"
        if not path.exists():
            try:
                with path.open("x", encoding="utf-8") as fh:
                    fh.write(secrets.token_urlsafe(48))
                path.chmod(0o600)
            except FileExistsError:
                pass  # another process created it first; read theirs
        return path.read_text(encoding="utf-8").strip()
