"""Permissions of places (the region tree, rooms, parking spaces, facilities)."""

from linli.core.permissions import Permissions


class PlacesPerm(Permissions):
    PLACES_VIEW = "places.view"
    PLACES_MANAGE = "places.manage"
    PLACES_IMPORT = "places.import"
