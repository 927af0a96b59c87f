"""Permissions of parking."""

from linli.core.permissions import Permissions


class ParkingPerm(Permissions):
    PARKING_VIEW = "parking.view"
    PARKING_MANAGE = "parking.manage"  # permits, fee rules, block list
    PARKING_COLLECT = "parking.collect"  # settle temporary parking at the booth, open the barrier
