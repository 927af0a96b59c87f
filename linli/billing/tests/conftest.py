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
