"""Bounded schemathesis run over the whole v1 OpenAPI schema: no input may produce a 5xx, and every
4xx answers with the JSON error envelope. Runs as several roles of estate a, a resident, and anonymously.
``LINLI_FUZZ_EXAMPLES`` raises the number of examples per operation for a longer run."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings

from linli.accounts import services as account_services
from linli.config.wsgi import application
from linli.orgs.roles import Role

MAX_EXAMPLES = int(os.environ.get("LINLI_FUZZ_EXAMPLES", "10"))


def _operations():
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    return [result.ok() for result in schema.get_all_operations()]


def _check(case, response) -> None:
    where = (
        f"{case.method} {case.formatted_path} {case.query or ''} {case.body if case.body is not None else ''}"
    )
    assert response.status_code < 500, f"{response.status_code} for {where}: {response.text[:500]}"
    if response.status_code >= 400 and response.headers.get("Content-Type", "").startswith(
        "application/json"
    ):
        body = response.json()
        assert "error" in body and body["error"].get("code"), f"no error envelope for {where}: {body}"


@pytest.fixture
def keep_test_connection():
    """Requests through the WSGI app would close the test transaction's connection when they finish
    (PostgreSQL); Django's test client avoids that the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("keep_test_connection")
@pytest.mark.parametrize(
    "who", [Role.PROPERTY_ADMIN, Role.GUARD, Role.COMMUNITY_WORKER, "resident", "anonymous"]
)
def test_no_server_error_for_any_generated_input(world, who):
    headers = {}
    if who != "anonymous":
        user = world.a.resident if who == "resident" else world.a.staff[who]
        _token, raw = account_services.token_issue(user=user, name="fuzz")
        headers = {"Authorization": f"Bearer {raw}"}
    operations = _operations()
    assert operations, "the schema has no operations"
    for operation in operations:

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case):
            response = case.call(headers=headers)
            _check(case, response)

        run()
