"""Permissions of owner votes."""

from linli.core.permissions import Permissions


class VotesPerm(Permissions):
    VOTES_MANAGE = "votes.manage"
