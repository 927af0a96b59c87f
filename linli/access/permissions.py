"""Permissions of access (entry and exit)."""

from linli.core.permissions import Permissions


class AccessPerm(Permissions):
    ACCESS_VIEW = "access.view"  # access points, devices, policies, credentials (masked)
    ACCESS_MANAGE = "access.manage"  # edit access points, policies, holidays; issue/revoke credentials
    ACCESS_GUARD = "access.guard"  # gate duty: walk-in visitors, delivery passes, staff-assisted entry
    ACCESS_EVENTS_VIEW = "access.events_view"  # passage records tied to people (whereabouts, audited)
    ACCESS_ANALYSIS = "access.analysis"  # flows, visitor statistics and anomalies (aggregates)
