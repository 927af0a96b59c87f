"""Permissions of notices."""

from linli.core.permissions import Permissions


class NoticesPerm(Permissions):
    NOTICES_MANAGE = "notices.manage"
