"""Fixtures of the billing tests."""

from __future__ import annotations

import pytest

from linli.billing.tests import factories as f


@pytest.fixture
def mgr(world):
    return f.manager(world.a.estate)


@pytest.fixture
def clerk(world):
    return f.clerk(world.a.estate)


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    """Run tasks inline. The root conftest sets TASKS in pytest_configure, after django_tasks has
    already read its settings, so re-assigning here fires ``setting_changed`` and resets its backends."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "ENQUEUE_ON_COMMIT": False}
    }
