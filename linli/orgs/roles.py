"""Roles and the permissions each grants. Permissions are checked in services, never only in pages.

Permissions are declared by their apps (``<app>/permissions.py``, registered in ``core.permissions``);
this module maps roles onto them by name (``Perm``, re-exported here for the apps).

A membership gives a user one role in one organisation over a scope of region nodes (estate level
or above). Residents get no membership: what they may see is their own household.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.permissions import Perm


class Role(models.TextChoices):
    RESIDENT = "resident", _("居民")
    PROPERTY_ADMIN = "property_admin", _("物业管理员")
    CUSTOMER_SERVICE = "customer_service", _("物业客服")
    TECHNICIAN = "technician", _("维修技师")
    GUARD = "guard", _("保安")
    COMMUNITY_WORKER = "community_worker", _("社区工作者")
    SUBDISTRICT_OFFICER = "subdistrict_officer", _("街道干部")
    POLICE_OFFICER = "police_officer", _("民警")
    SERVICE_PROVIDER = "service_provider", _("服务商")
    PLATFORM_ADMIN = "platform_admin", _("平台管理员")
    AUDIT_ADMIN = "audit_admin", _("审计管理员")


_READ = {Perm.PLACES_VIEW, Perm.PEOPLE_VIEW, Perm.CATALOG_VIEW}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.RESIDENT: frozenset(),
    Role.PROPERTY_ADMIN: frozenset(
        _READ
        | {
            Perm.PLACES_MANAGE,
            Perm.PLACES_IMPORT,
            Perm.PEOPLE_MANAGE,
            Perm.PEOPLE_IMPORT,
            Perm.PEOPLE_REVEAL,
            Perm.PEOPLE_RENTAL,
            Perm.ORGS_VIEW,
            Perm.TOKENS_MANAGE,
        }
    ),
    Role.CUSTOMER_SERVICE: frozenset(_READ | {Perm.PEOPLE_MANAGE, Perm.PEOPLE_RENTAL}),
    Role.TECHNICIAN: frozenset({Perm.PLACES_VIEW}),
    Role.GUARD: frozenset({Perm.PLACES_VIEW, Perm.PEOPLE_VIEW}),
    Role.COMMUNITY_WORKER: frozenset(
        _READ
        | {
            Perm.PEOPLE_MANAGE,
            Perm.PEOPLE_REVEAL,
            Perm.PEOPLE_SPECIAL_VIEW,
            Perm.PEOPLE_RENTAL,
            Perm.ORGS_VIEW,
        }
    ),
    Role.SUBDISTRICT_OFFICER: frozenset(
        _READ | {Perm.PEOPLE_REVEAL, Perm.PEOPLE_SPECIAL_VIEW, Perm.ORGS_VIEW}
    ),
    Role.POLICE_OFFICER: frozenset(
        _READ | {Perm.PEOPLE_REVEAL, Perm.PEOPLE_SPECIAL_VIEW, Perm.PEOPLE_RENTAL}
    ),
    Role.SERVICE_PROVIDER: frozenset({Perm.PLACES_VIEW}),
    # System administration: accounts, organisations, master data. Not the audit log (三权分立, R46).
    Role.PLATFORM_ADMIN: frozenset(
        _READ
        | {
            Perm.PLACES_MANAGE,
            Perm.PLACES_IMPORT,
            Perm.PEOPLE_IMPORT,
            Perm.ORGS_VIEW,
            Perm.ORGS_MANAGE,
            Perm.TOKENS_MANAGE,
        }
    ),
    # Audit administration: read-only access to the audit log and the catalogue.
    Role.AUDIT_ADMIN: frozenset({Perm.AUDIT_VIEW, Perm.CATALOG_VIEW}),
}

STAFF_ROLES = [r for r in Role if r != Role.RESIDENT]


# Property services (issue #3), merged into the table above.
_PROPERTY_SERVICES: dict[str, set[str]] = {
    Role.PROPERTY_ADMIN: {
        Perm.BILLING_VIEW,
        Perm.BILLING_MANAGE,
        Perm.BILLING_APPROVE,
        Perm.WORKORDERS_VIEW,
        Perm.WORKORDERS_MANAGE,
        Perm.PATROLS_VIEW,
        Perm.PATROLS_MANAGE,
        Perm.NOTICES_MANAGE,
        Perm.VOTES_MANAGE,
    },
    Role.CUSTOMER_SERVICE: {
        Perm.BILLING_VIEW,
        Perm.BILLING_MANAGE,
        Perm.WORKORDERS_VIEW,
        Perm.WORKORDERS_MANAGE,
        Perm.NOTICES_MANAGE,
    },
    Role.TECHNICIAN: {Perm.WORKORDERS_VIEW, Perm.WORKORDERS_WORK},
    Role.GUARD: {Perm.PATROLS_VIEW, Perm.PATROLS_CHECKIN, Perm.WORKORDERS_VIEW},
    Role.COMMUNITY_WORKER: {Perm.WORKORDERS_VIEW, Perm.NOTICES_MANAGE, Perm.VOTES_MANAGE},
    Role.SUBDISTRICT_OFFICER: {Perm.WORKORDERS_VIEW},
}
# Safety monitoring (issue #4). Health/behaviour alarms (R65) go to government care roles only.
_SAFETY: dict[str, set[str]] = {
    Role.PROPERTY_ADMIN: {
        Perm.DEVICES_VIEW,
        Perm.DEVICES_MANAGE,
        Perm.ALARMS_VIEW,
        Perm.ALARMS_HANDLE,
        Perm.ALARMS_RULES,
    },
    Role.CUSTOMER_SERVICE: {Perm.DEVICES_VIEW, Perm.ALARMS_VIEW, Perm.ALARMS_HANDLE},
    Role.TECHNICIAN: {Perm.DEVICES_VIEW, Perm.ALARMS_VIEW, Perm.ALARMS_HANDLE},
    Role.GUARD: {Perm.DEVICES_VIEW, Perm.ALARMS_VIEW, Perm.ALARMS_HANDLE},
    Role.COMMUNITY_WORKER: {Perm.DEVICES_VIEW, Perm.ALARMS_VIEW, Perm.ALARMS_HANDLE, Perm.ALARMS_HEALTH_VIEW},
    Role.SUBDISTRICT_OFFICER: {Perm.DEVICES_VIEW, Perm.ALARMS_VIEW, Perm.ALARMS_HEALTH_VIEW},
    Role.PLATFORM_ADMIN: {Perm.DEVICES_VIEW, Perm.DEVICES_MANAGE, Perm.ALARMS_VIEW, Perm.ALARMS_HANDLE},
}
# Entry and exit (issue #5). Passage records are whereabouts (R17): only the roles that need them.
_ACCESS: dict[str, set[str]] = {
    Role.PROPERTY_ADMIN: {
        Perm.ACCESS_VIEW,
        Perm.ACCESS_MANAGE,
        Perm.ACCESS_GUARD,
        Perm.ACCESS_EVENTS_VIEW,
        Perm.ACCESS_ANALYSIS,
        Perm.PARKING_VIEW,
        Perm.PARKING_MANAGE,
        Perm.PARKING_COLLECT,
    },
    Role.CUSTOMER_SERVICE: {Perm.ACCESS_VIEW, Perm.ACCESS_MANAGE, Perm.PARKING_VIEW, Perm.PARKING_MANAGE},
    Role.TECHNICIAN: {Perm.ACCESS_VIEW},
    Role.GUARD: {
        Perm.ACCESS_VIEW,
        Perm.ACCESS_GUARD,
        Perm.ACCESS_EVENTS_VIEW,
        Perm.PARKING_VIEW,
        Perm.PARKING_COLLECT,
    },
    Role.COMMUNITY_WORKER: {Perm.ACCESS_ANALYSIS},
    Role.SUBDISTRICT_OFFICER: {Perm.ACCESS_ANALYSIS},
    Role.POLICE_OFFICER: {Perm.ACCESS_ANALYSIS, Perm.ACCESS_EVENTS_VIEW},
}
ROLE_PERMISSIONS = {
    role: frozenset(
        perms | _PROPERTY_SERVICES.get(role, set()) | _SAFETY.get(role, set()) | _ACCESS.get(role, set())
    )
    for role, perms in ROLE_PERMISSIONS.items()
}
