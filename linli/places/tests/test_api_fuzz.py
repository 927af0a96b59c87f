"""Schemathesis over the places endpoints only (more examples than the project-wide run): no 5xx,
every JSON 4xx carries the error envelope. Runs as a property admin and as a guard of estate a."""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings

from linli.accounts import services as account_services
from linli.config.wsgi import application
from linli.orgs.roles import Role

MAX_EXAMPLES = int(os.environ.get("LINLI_PLACES_FUZZ_EXAMPLES", "25"))


def _places_operations():
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    return [op for op in operations if op.path.startswith("/api/v1/places")]


@pytest.fixture
def keep_test_connection():
    """Calls through the WSGI app would close the test transaction's connection at the end of each
    request (PostgreSQL); Django's test client avoids that the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("keep_test_connection")
@pytest.mark.parametrize("role", [Role.PROPERTY_ADMIN, Role.GUARD])
def test_places_api_never_answers_5xx(world, role):
    _token, raw = account_services.token_issue(user=world.a.staff[role], name="fuzz")
    headers = {"Authorization": f"Bearer {raw}"}
    operations = _places_operations()
    assert len(operations) == 12
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
            where = f"{case.method} {case.formatted_path} {case.query or ''} {case.body!r:.300}"
            assert response.status_code < 500, f"{response.status_code} for {where}: {response.text[:300]}"
            if response.status_code >= 400 and response.headers.get("Content-Type", "").startswith(
                "application/json"
            ):
                assert response.json()["error"]["code"], where

        run()
