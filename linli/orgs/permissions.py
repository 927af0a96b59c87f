"""Permissions of orgs (organisations and memberships)."""

from linli.core.permissions import Permissions


class OrgsPerm(Permissions):
    ORGS_VIEW = "orgs.view"
    ORGS_MANAGE = "orgs.manage"
