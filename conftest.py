"""Fixtures shared by every app's tests: two estates side by side and a user of every role in each."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.test import Client

from linli.accounts.models import User, UserKind
from linli.orgs.roles import Role
from linli.orgs.tests import factories as orgs_f
from linli.people.models import Person
from linli.people.tests import factories as people_f
from linli.places.models import Region, Room
from linli.places.tests import factories as places_f


def pytest_configure(config):
    # Argon2 is the production hasher (settings.PASSWORD_HASHERS); tests create dozens of users, so they
    # hash with MD5 unless a test overrides the setting to check the real hasher.
    from django.conf import settings

    # Background tasks run inline in tests (the database backend and `linli worker` are tested apart).
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "ENQUEUE_ON_COMMIT": False}
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    """Background tasks run inline in tests (the database backend and `linli worker` are tested apart)."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "ENQUEUE_ON_COMMIT": False}
    }


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Reset what lives in the process between tests: the active language (a request in English leaves
    it set on the thread) and the alarm engine's in-memory caches (row ids are reused after rollbacks)."""
    from django.conf import settings
    from django.utils import translation

    from linli.access.insights import anomalies as access_anomalies
    from linli.access.points import policy as access_policy
    from linli.alarms import engine

    translation.activate(settings.LANGUAGE_CODE)
    engine.reset()
    access_policy.reset_shared_cache()
    access_anomalies.reset_settings_cache()
    yield
    engine.reset()
    access_policy.reset_shared_cache()
    access_anomalies.reset_settings_cache()
    translation.activate(settings.LANGUAGE_CODE)


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )


@pytest.fixture(autouse=True)
def _rows_from_data_migrations(request):
    """Transactional tests flush every table, including rows that data migrations created (built-in
    device profiles and their default alarm rules); put them back before such a test (idempotent)."""
    if not _is_transactional(request):
        yield
        return
    import importlib

    from django.apps import apps

    request.getfixturevalue("transactional_db")
    importlib.import_module("linli.devices.migrations.0002_builtin_profiles").create_profiles(apps, None)
    importlib.import_module("linli.alarms.migrations.0002_default_rules").create_rules(apps, None)
    yield


# Roles scoped to one estate (platform and audit admins see everything by design).
ESTATE_ROLES = [
    Role.PROPERTY_ADMIN,
    Role.CUSTOMER_SERVICE,
    Role.TECHNICIAN,
    Role.GUARD,
    Role.COMMUNITY_WORKER,
    Role.SUBDISTRICT_OFFICER,
    Role.POLICE_OFFICER,
    Role.SERVICE_PROVIDER,
]


@dataclass
class Side:
    estate: Region
    building: Region
    unit: Region
    rooms: list[Room]
    persons: list[Person]
    staff: dict[str, User] = field(default_factory=dict)
    resident: User | None = None


@dataclass
class World:
    a: Side
    b: Side
    platform_admin: User
    audit_admin: User


def _side(name: str) -> Side:
    estate = places_f.estate(name=name)
    building = places_f.building(estate=estate, name="1号楼")
    unit = places_f.unit(building=building)
    rooms = [
        places_f.room(estate=estate, building=building, unit=unit, floor=f, number=f"{f}01")
        for f in (1, 2, 3)
    ]
    persons = [people_f.person(estate=estate, room=rooms[i % 3]) for i in range(4)]
    side = Side(estate=estate, building=building, unit=unit, rooms=rooms, persons=persons)
    for role in ESTATE_ROLES:
        side.staff[role] = orgs_f.staff(role=role, scope=[estate], username=f"{role}_{estate.pk}")
    resident = orgs_f.user(username=f"resident_{estate.pk}", kind=UserKind.RESIDENT)
    persons[0].user = resident
    persons[0].save(update_fields=["user"])
    side.resident = resident
    return side


@pytest.fixture
def world(db) -> World:
    a = _side("甲小区")
    b = _side("乙小区")
    platform_org = orgs_f.organization(kind="platform_operator", name="平台运营")
    return World(
        a=a,
        b=b,
        platform_admin=orgs_f.staff(
            role=Role.PLATFORM_ADMIN, scope=[], org=platform_org, username="platform"
        ),
        audit_admin=orgs_f.staff(role=Role.AUDIT_ADMIN, scope=[], org=platform_org, username="auditor"),
    )


def client_for(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def login():
    return client_for


def _flush_with_audit_maintenance():
    """Transactional tests end with a flush; the audit table refuses DELETE/TRUNCATE unless in
    maintenance, so the teardown runs inside it (tests only)."""
    from django.test import testcases

    from linli.core.audit import maintenance

    original = testcases.TransactionTestCase._fixture_teardown

    def teardown(self):
        with maintenance():
            return original(self)

    testcases.TransactionTestCase._fixture_teardown = teardown


_flush_with_audit_maintenance()
