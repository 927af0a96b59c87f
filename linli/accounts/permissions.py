"""Permissions of accounts (API tokens)."""

from linli.core.permissions import Permissions


class AccountsPerm(Permissions):
    TOKENS_MANAGE = "tokens.manage"
