"""Permissions of work orders."""

from linli.core.permissions import Permissions


class WorkordersPerm(Permissions):
    WORKORDERS_VIEW = "workorders.view"
    WORKORDERS_MANAGE = "workorders.manage"  # create, dispatch, cancel, rosters, SLA settings
    WORKORDERS_WORK = "workorders.work"  # accept and carry out assigned orders
