"""Permissions of privacy (the audit log search and the data catalogue, 一本账)."""

from linli.core.permissions import Permissions


class PrivacyPerm(Permissions):
    AUDIT_VIEW = "audit.view"
    CATALOG_VIEW = "catalog.view"
