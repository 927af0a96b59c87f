"""Roles and permissions: the registry is complete and every role keeps exactly the permissions it had.

``FROZEN`` is ``ROLE_PERMISSIONS`` as it stood before permissions were declared per app (issue #9); a
change to what a role may do must change this table on purpose.
"""

from linli.core.permissions import discover
from linli.orgs.roles import ROLE_PERMISSIONS, Role

FROZEN: dict[str, frozenset[str]] = {
    "audit_admin": frozenset(
        {
            "audit.view",
            "catalog.view",
        }
    ),
    "community_worker": frozenset(
        {
            "access.analysis",
            "alarms.handle",
            "alarms.health_view",
            "alarms.view",
            "catalog.view",
            "devices.view",
            "notices.manage",
            "orgs.view",
            "people.manage",
            "people.rental",
            "people.reveal",
            "people.special_view",
            "people.view",
            "places.view",
            "votes.manage",
            "workorders.view",
        }
    ),
    "customer_service": frozenset(
        {
            "access.manage",
            "access.view",
            "alarms.handle",
            "alarms.view",
            "billing.manage",
            "billing.view",
            "catalog.view",
            "devices.view",
            "notices.manage",
            "parking.manage",
            "parking.view",
            "people.manage",
            "people.rental",
            "people.view",
            "places.view",
            "workorders.manage",
            "workorders.view",
        }
    ),
    "guard": frozenset(
        {
            "access.events_view",
            "access.guard",
            "access.view",
            "alarms.handle",
            "alarms.view",
            "devices.view",
            "parking.collect",
            "parking.view",
            "patrols.checkin",
            "patrols.view",
            "people.view",
            "places.view",
            "workorders.view",
        }
    ),
    "platform_admin": frozenset(
        {
            "alarms.handle",
            "alarms.view",
            "catalog.view",
            "devices.manage",
            "devices.view",
            "orgs.manage",
            "orgs.view",
            "people.import",
            "people.view",
            "places.import",
            "places.manage",
            "places.view",
            "tokens.manage",
        }
    ),
    "police_officer": frozenset(
        {
            "access.analysis",
            "access.events_view",
            "catalog.view",
            "people.rental",
            "people.reveal",
            "people.special_view",
            "people.view",
            "places.view",
        }
    ),
    "property_admin": frozenset(
        {
            "access.analysis",
            "access.events_view",
            "access.guard",
            "access.manage",
            "access.view",
            "alarms.handle",
            "alarms.rules",
            "alarms.view",
            "billing.approve",
            "billing.manage",
            "billing.view",
            "catalog.view",
            "devices.manage",
            "devices.view",
            "notices.manage",
            "orgs.view",
            "parking.collect",
            "parking.manage",
            "parking.view",
            "patrols.manage",
            "patrols.view",
            "people.import",
            "people.manage",
            "people.rental",
            "people.reveal",
            "people.view",
            "places.import",
            "places.manage",
            "places.view",
            "tokens.manage",
            "votes.manage",
            "workorders.manage",
            "workorders.view",
        }
    ),
    "resident": frozenset(),
    "service_provider": frozenset(
        {
            "places.view",
        }
    ),
    "subdistrict_officer": frozenset(
        {
            "access.analysis",
            "alarms.health_view",
            "alarms.view",
            "catalog.view",
            "devices.view",
            "orgs.view",
            "people.reveal",
            "people.special_view",
            "people.view",
            "places.view",
            "workorders.view",
        }
    ),
    "technician": frozenset(
        {
            "access.view",
            "alarms.handle",
            "alarms.view",
            "devices.view",
            "places.view",
            "workorders.view",
            "workorders.work",
        }
    ),
}


def test_every_role_keeps_its_permissions():
    assert {str(role): perms for role, perms in ROLE_PERMISSIONS.items()} == FROZEN
    assert set(ROLE_PERMISSIONS) == set(Role)


def test_every_granted_permission_is_registered():
    granted = set().union(*ROLE_PERMISSIONS.values())
    assert granted - set(discover()) == set()


def test_every_registered_permission_is_granted_to_some_role():
    granted = set().union(*ROLE_PERMISSIONS.values())
    assert set(discover()) - granted == set()
