"""Schemathesis against /openapi.json: every operation, generated inputs, as an admin.

No input may cause a 500, and every response must match what the schema says (body schema,
content type, documented status codes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.accounts import service as accounts
from app.accounts.models import Role
from app.core.config import Settings
from app.core.db import make_engine, open_session
from tests.factories import make_page, make_user
from tests.soak.conftest import Server, prepare

EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    status_code_conformance,
]


def _fuzzer(operation: Any, base_url: str, auth: dict[str, str]) -> Callable[[], None]:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same inputs every run: a failure can be replayed
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(base_url=base_url, headers=dict(auth), checks=CHECKS, timeout=60)

    return run


def test_every_api_operation_survives_generated_input(server: Server) -> None:
    tokens = prepare(server.data_dir, {"ada": Role.admin})
    config = Settings(data_dir=server.data_dir, secret_key="soak")
    engine = make_engine(config)
    with open_session(engine, config) as session:
        make_page(session, slug="core/requirement-to-value")
    engine.dispose()
    server.start()
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", timeout=60)
    assert tokens

    def fresh_admin(n: int) -> dict[str, str]:
        # the fuzzer may revoke its own token or disable its own account: a new one each time
        engine = make_engine(config)
        with open_session(engine, config) as session:
            make_user(session, username=f"admin{n}", role=Role.admin)
            token = accounts.create_token(session=session, username=f"admin{n}", name="fuzz")[1]
        engine.dispose()
        return {"Authorization": f"Bearer {token}"}

    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema fails here
        operations += 1
        auth = fresh_admin(operations)

        run = _fuzzer(operation, server.url, auth)
        try:
            run()
        except (
            Exception,
            BaseExceptionGroup,
        ) as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert operations > 50
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
