"""Bounded schemathesis run over the whole v1 OpenAPI schema: no input may produce a 5xx, and every
4xx answers with the JSON error envelope. Runs as a property admin of estate a (and anonymously)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from linli.accounts import services as account_services
from linli.config.wsgi import application
from linli.orgs.roles import Role

MAX_EXAMPLES = int(os.environ.get("LINLI_FUZZ_EXAMPLES", "12"))


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


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["property_admin", "resident", "anonymous"])
def test_no_server_error_for_any_generated_input(world, who):
    headers = {}
    if who == "property_admin":
        _token, raw = account_services.token_issue(user=world.a.staff[Role.PROPERTY_ADMIN], name="fuzz")
        headers = {"Authorization": f"Bearer {raw}"}
    elif who == "resident":
        _token, raw = account_services.token_issue(user=world.a.resident, name="fuzz")
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
