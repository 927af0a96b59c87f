"""Schemathesis over the people endpoints: no 5xx on any generated input, every JSON 4xx carries the
error envelope. Runs as a property admin, a community worker and a resident of estate a."""

import os

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings

from linli.accounts import services as account_services
from linli.config.wsgi import application
from linli.orgs.roles import Role

MAX_EXAMPLES = int(os.environ.get("LINLI_PEOPLE_FUZZ_EXAMPLES", "20"))


def _people_operations():
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    return [op for op in operations if op.path.startswith("/api/v1/people")]


@pytest.fixture
def keep_connection():
    """Calling the WSGI app directly fires request_started/finished, whose handler would close the
    test's database connection (inside its transaction) on PostgreSQL; Django's test Client
    disconnects it the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _user(world, who):
    return world.a.resident if who == "resident" else world.a.staff[who]


@pytest.mark.django_db
@pytest.mark.parametrize("who", [Role.PROPERTY_ADMIN, Role.COMMUNITY_WORKER, "resident"])
def test_people_api_never_answers_5xx(world, who, keep_connection):
    _token, raw = account_services.token_issue(user=_user(world, who), name="fuzz")
    headers = {"Authorization": f"Bearer {raw}"}
    operations = _people_operations()
    assert len(operations) == 23
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
