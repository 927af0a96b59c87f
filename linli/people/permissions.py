"""Permissions of people (persons, households, occupancy, rental registration, care tags)."""

from linli.core.permissions import Permissions


class PeoplePerm(Permissions):
    PEOPLE_VIEW = "people.view"
    PEOPLE_MANAGE = "people.manage"
    PEOPLE_IMPORT = "people.import"
    PEOPLE_REVEAL = "people.reveal"
    PEOPLE_SPECIAL_VIEW = "people.special_view"  # special-care tags (government roles, R61)
    PEOPLE_RENTAL = "people.rental"  # rental (tenant) registration
