"""Reads for the console overview: per-estate counts inside the actor's scope."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone

from linli.core.scoping import Actor
from linli.people.models import CareTag, Household, Occupancy, Person, Vehicle
from linli.places.models import Facility, ParkingSpace, Region, RegionLevel, Room, RoomStatus
from linli.places.selectors import estate_list


def estate_overview(*, actor: Actor) -> list[dict]:
    """One row per estate in scope with its counts (five grouped queries, whatever the estate count)."""
    estates = list(estate_list(actor=actor))
    ids = [e.pk for e in estates]
    today = timezone.localdate()

    def by_estate(qs, **annotations):
        return {
            row["estate_id"]: row
            for row in qs.filter(estate_id__in=ids).values("estate_id").annotate(**annotations)
        }

    rooms = by_estate(
        Room.objects,
        rooms=Count("pk"),
        rented=Count("pk", filter=Q(status=RoomStatus.RENTED)),
        vacant=Count("pk", filter=Q(status=RoomStatus.VACANT)),
    )
    persons = by_estate(Person.objects, persons=Count("pk"))
    households = by_estate(Household.objects, households=Count("pk"))
    active = by_estate(
        Occupancy.objects.filter(Q(end_date__isnull=True) | Q(end_date__gte=today)),
        tenants=Count("pk", filter=Q(relation="tenant")),
    )
    vehicles = by_estate(Vehicle.objects, vehicles=Count("pk"))
    parking = by_estate(ParkingSpace.objects, parking=Count("pk"))
    facilities = by_estate(Facility.objects, facilities=Count("pk"))
    care = (
        by_estate(CareTag.objects.filter(end_date__isnull=True), care=Count("pk"))
        if actor.has("people.special_view")
        else {}
    )
    buildings = {
        row["parent_id"]: row["n"]
        for row in Region.objects.filter(level=RegionLevel.BUILDING, parent_id__in=ids)
        .values("parent_id")
        .annotate(n=Count("pk"))
    }
    out = []
    for e in estates:
        row = {"estate": e, "buildings": buildings.get(e.pk, 0)}
        for src, keys in (
            (rooms, ("rooms", "rented", "vacant")),
            (persons, ("persons",)),
            (households, ("households",)),
            (active, ("tenants",)),
            (vehicles, ("vehicles",)),
            (parking, ("parking",)),
            (facilities, ("facilities",)),
            (care, ("care",)),
        ):
            for k in keys:
                row[k] = src.get(e.pk, {}).get(k, 0)
        out.append(row)
    return out
