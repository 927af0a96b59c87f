"""The permission registry: declaring a permission registers it; declaring one twice fails at start-up."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from linli.core.permissions import Perm, Permissions, _by_attribute, discover, registry


def test_a_declared_permission_is_registered_as_its_name():
    class ExamplePerm(Permissions):
        EXAMPLE_READ = "example.read"
        not_a_permission = "ignored"

    try:
        assert ExamplePerm.EXAMPLE_READ == "example.read"
        assert Perm.EXAMPLE_READ == "example.read"
        assert registry["example.read"].endswith("ExamplePerm.EXAMPLE_READ")
        assert "ignored" not in registry
    finally:
        del registry["example.read"], _by_attribute["EXAMPLE_READ"]


def test_a_permission_declared_twice_is_refused():
    discover()
    with pytest.raises(ImproperlyConfigured, match=r"billing\.view"):

        class Again(Permissions):
            BILLING_VIEW = "billing.view"

    assert registry["billing.view"] == "linli.billing.permissions.BillingPerm.BILLING_VIEW"


def test_perm_names_every_permission_an_app_declares_and_nothing_else():
    assert Perm.PARKING_COLLECT == "parking.collect"
    assert "ALARMS_HEALTH_VIEW" in dir(Perm)
    with pytest.raises(AttributeError):
        _ = Perm.PARKING_TELEPORT
