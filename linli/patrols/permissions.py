"""Permissions of patrols."""

from linli.core.permissions import Permissions


class PatrolsPerm(Permissions):
    PATROLS_VIEW = "patrols.view"
    PATROLS_MANAGE = "patrols.manage"
    PATROLS_CHECKIN = "patrols.checkin"
