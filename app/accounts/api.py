"""API tokens under /api/v1: get one with a username and password, list and revoke yours."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.accounts import service
from app.accounts.models import ApiToken
from app.accounts.schemas import TokenCreate, TokenCreated, TokenRead
from app.core.deps import CurrentUser, SessionDep, client_address
from app.core.problems import problems

router = APIRouter(prefix="/api/v1", tags=["tokens"])


def _read(row: ApiToken) -> TokenRead:
    return TokenRead(
        id=row.id or 0,
        name=row.name,
        scopes=row.scopes.split(),
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


@router.post(
    "/tokens",
    status_code=201,
    response_model=TokenCreated,
    summary="Create an API token with a username and password",
    description="Throttled like the sign-in form: too many failures answer 429 with "
    "Retry-After. `scope` read allows only GET and HEAD.",
    responses=problems(401, 403, 422, 429),
)
def create_token(data: TokenCreate, request: Request, session: SessionDep) -> TokenCreated:
    row, token = service.token_for_credentials(
        session=session,
        username=data.username,
        password=data.password,
        address=client_address(request),
        name=data.name,
        days=data.days,
        scope=data.scope,
    )
    return TokenCreated(
        id=row.id or 0,
        name=row.name,
        token=token,
        scopes=row.scopes.split(),
        expires_at=row.expires_at,
    )


@router.get(
    "/tokens",
    response_model=list[TokenRead],
    summary="Your API tokens",
    responses=problems(401, 403),
)
def list_tokens(session: SessionDep, user: CurrentUser) -> list[TokenRead]:
    return [_read(t) for t in service.list_tokens(session=session, user=user)]


@router.delete(
    "/tokens/{token_id}",
    response_model=TokenRead,
    summary="Revoke an API token (it stops working at once)",
    responses=problems(401, 403, 404),
)
def revoke_token(token_id: int, session: SessionDep, user: CurrentUser) -> TokenRead:
    return _read(service.revoke_token(session=session, user=user, token_id=token_id))
