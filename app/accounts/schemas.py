"""Accounts input and output shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from app.accounts.models import Role, TokenScope


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    # the password rules (length, username, common passwords) are checked by the service
    password: str = Field(max_length=256)
    display_name: str = Field(default="", max_length=120)
    email: str | None = Field(default=None, max_length=254)
    role: Role = Role.editor


class LoginForm(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    next: str = "/"


class TokenCreate(BaseModel):
    """Exchange a username and password for an API token (throttled like the sign-in form)."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    name: str = Field(default="", max_length=120, description="what the token is for")
    scope: TokenScope = Field(
        default=TokenScope.write, description="read: GET/HEAD only; write: everything"
    )
    days: int | None = Field(default=None, ge=1, le=3650, description="expires after N days")


class TokenForm(BaseModel):
    name: str = Field(default="", max_length=120)
    scope: TokenScope = TokenScope.write
    days: int | None = Field(default=None, ge=1, le=3650)

    @field_validator("days", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        # the form's "never expires" choice posts an empty string
        return None if value == "" else value


class TokenCreated(BaseModel):
    id: int
    name: str
    token: str = Field(description="shown once; only its hash is stored")
    scopes: list[str]
    expires_at: datetime | None


class TokenRead(BaseModel):
    id: int
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="updated at most every five minutes")
    revoked_at: datetime | None


class PasswordChange(BaseModel):
    current: str = Field(max_length=256)
    new: str = Field(max_length=256)
