"""Permissions of alarms."""

from linli.core.permissions import Permissions


class AlarmsPerm(Permissions):
    ALARMS_VIEW = "alarms.view"
    ALARMS_HANDLE = "alarms.handle"  # acknowledge, clear, comment, assign
    ALARMS_RULES = "alarms.rules"  # edit rules and overrides
    ALARMS_HEALTH_VIEW = "alarms.health_view"  # health/behaviour alarms of elderly residents (R65)
