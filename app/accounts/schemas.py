"""Accounts input and output shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.accounts.models import Role


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    password: str = Field(min_length=10, max_length=256)
    display_name: str = Field(default="", max_length=120)
    email: str | None = Field(default=None, max_length=254)
    role: Role = Role.editor


class LoginForm(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    next: str = "/"


class TokenCreated(BaseModel):
    id: int
    name: str
    token: str = Field(description="shown once; only its hash is stored")
    expires_at: datetime | None
