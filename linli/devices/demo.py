"""Demo device fleet of one estate (issue #4): what a property would have installed, registered through
``services.device_create`` by the estate's property admin, so every device has its credentials, audit
record and location exactly as a real registration would.

Per estate:

- smoke detectors (烟感) in ~8% of the flats;
- combustible-gas detectors (可燃气体探测器) in a few ground-floor kitchens: restaurants among the
  shops first, then ground-floor flats, then other shops;
- per building one hydrant water-pressure sensor (on the building's hydrant ``Facility`` when there is
  one) and one electrical-fire monitor in the distribution room;
- water and electricity meters on a sample of flats;
- one elevator monitor per unit of 7 floors or more (on the unit's 1号电梯 ``Facility`` when known);
- door magnets on a few unit doors;
- an SOS button and a wearable for up to 10 persons tagged 独居老人, located in their flat (both
  profiles are health-sensitive, R65; names never carry the person's name);
- one fire-alarm controller (GB 26875 user information transmission device) in the control room.

Keys are stable and readable (``xfhy-smoke-<room id>``) and the samples deterministic, so a second
run finds every key and creates nothing. The fleet stays within ``MAX_PER_ESTATE`` devices (smoke
detectors give way first), which keeps the two demo estates under ~400 devices and the simulator's
per-device rates realistic at its fixed ~4 msg/s.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from linli.devices import services
from linli.devices.models import Device, DeviceProfile, DeviceType, estate_code_of
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user, staff_over
from linli.people.models import CareKind, CareTag, Establishment, Occupancy
from linli.places.models import Facility, Region, RegionLevel, Room, RoomStatus, RoomUse

MAX_PER_ESTATE = 200
SMOKE_SHARE = 0.08
METER_ROOMS = 15  # per estate, both meters each: ~30 metered flats across the two demo estates
GAS_KITCHENS = 3
DOOR_MAGNETS = 3
ELDERLY = 10
ELEVATOR_MIN_FLOORS = 7
KITCHEN_INDUSTRIES = ("餐饮业",)


@dataclass(frozen=True)
class Planned:
    """One device to register: the keyword arguments of ``device_create`` minus actor and estate."""

    key: str
    device_type: str
    name: str
    building: Region | None = None
    floor: int | None = None
    room: Room | None = None
    facility: Facility | None = None
    location: str = ""
    adapter: str = "generic"
    vendor_id: str = ""


def _property_admin(estate: Region):
    return staff_over(estate, roles=[Role.PROPERTY_ADMIN]).order_by("username").first()


def _prefix(estate: Region) -> str:
    code = re.sub(r"[^a-z0-9]", "", estate_code_of(estate).lower())
    return code or f"e{estate.pk}"


def _room_label(room: Room) -> str:
    unit = room.unit.name if room.unit_id else ""
    return f"{room.building.name}{unit}{room.number}"


def _rng(estate: Region, what: str) -> random.Random:
    return random.Random(f"linli-demo-devices/{estate.pk}/{what}")  # noqa: S311 - a demo sample, not a secret


def _sample(items: list, n: int, rng: random.Random) -> list:
    return sorted(rng.sample(items, min(n, len(items))), key=lambda x: x.pk)


def plan(estate: Region) -> list[Planned]:
    """The estate's demo fleet (deterministic for the same places and people)."""
    p = _prefix(estate)
    rooms = list(Room.objects.filter(estate=estate).select_related("building", "unit").order_by("pk"))
    flats = [r for r in rooms if r.use == RoomUse.RESIDENTIAL]
    buildings = list(Region.objects.filter(parent=estate, level=RegionLevel.BUILDING).order_by("sort", "pk"))
    units = list(
        Region.objects.filter(parent__parent=estate, level=RegionLevel.UNIT)
        .select_related("parent")
        .order_by("parent__sort", "parent_id", "sort", "pk")
    )
    facilities = list(
        Facility.objects.filter(
            estate=estate, kind__in=[Facility.Kind.HYDRANT, Facility.Kind.ELEVATOR]
        ).order_by("name", "pk")
    )
    fixed: list[Planned] = []

    # Fire-alarm controller: one per estate, a GB 26875 UITD (vendor id = its 12-hex-digit address).
    fixed.append(
        Planned(
            key=f"{p}-firepanel",
            device_type=DeviceType.FIRE_PANEL,
            name=f"{estate.name} 消防控制室火灾报警控制器",
            location="消防控制室",
            adapter="gb26875",
            vendor_id=f"{0x140000000000 + estate.pk:012x}",
        )
    )

    # Per building: hydrant pressure and the electrical-fire monitor of the distribution room.
    for b in buildings:
        hydrant = next(
            (f for f in facilities if f.kind == Facility.Kind.HYDRANT and f.building_id == b.pk), None
        )
        fixed.append(
            Planned(
                key=f"{p}-hydrant-{b.pk}",
                device_type=DeviceType.WATER_PRESSURE,
                name=f"{b.name} 消火栓水压",
                building=b,
                facility=hydrant,
                location=hydrant.location if hydrant and hydrant.location else f"{b.name}室外消火栓",
            )
        )
        fixed.append(
            Planned(
                key=f"{p}-efire-{b.pk}",
                device_type=DeviceType.ELECTRICAL_FIRE,
                name=f"{b.name} 电气火灾监控",
                building=b,
                floor=1,
                location=f"{b.name}一层配电间",
            )
        )

    # Elevator monitors: one per unit of ELEVATOR_MIN_FLOORS floors or more.
    top = dict(
        Room.objects.filter(estate=estate, unit__isnull=False)
        .values_list("unit_id")
        .annotate(top=Max("floor"))
        .values_list("unit_id", "top")
    )
    for u in units:
        if top.get(u.pk, 0) < ELEVATOR_MIN_FLOORS:
            continue
        b = u.parent
        where = f"{b.name}{u.name}"
        lifts = [f for f in facilities if f.kind == Facility.Kind.ELEVATOR and f.location == where]
        fixed.append(
            Planned(
                key=f"{p}-lift-{u.pk}",
                device_type=DeviceType.ELEVATOR,
                name=f"{where} 电梯",
                building=b,
                facility=lifts[0] if lifts else None,
                location=lifts[0].name if lifts else f"{where}电梯",
            )
        )

    # Door magnets on a few unit doors.
    for u in _sample(units, DOOR_MAGNETS, _rng(estate, "door")):
        b = u.parent
        fixed.append(
            Planned(
                key=f"{p}-door-{u.pk}",
                device_type=DeviceType.DOOR_MAGNET,
                name=f"{b.name}{u.name} 单元门门磁",
                building=b,
                floor=1,
                location=f"{b.name}{u.name}单元门",
            )
        )

    # Gas detectors in ground-floor kitchens: restaurants first, then flats, then other shops.
    ground = [r for r in rooms if r.floor == 1]
    kitchens = set(
        Establishment.objects.filter(
            estate=estate, room__floor=1, industry__in=KITCHEN_INDUSTRIES, status="open"
        ).values_list("room_id", flat=True)
    )
    ranked = sorted(
        ground,
        key=lambda r: (
            r.pk not in kitchens,
            r.use != RoomUse.RESIDENTIAL,  # a flat's kitchen before a shop without one
            _rng(estate, f"gas{r.pk}").random(),
        ),
    )
    for r in sorted(ranked[:GAS_KITCHENS], key=lambda r: r.pk):
        fixed.append(
            Planned(
                key=f"{p}-gas-{r.pk}",
                device_type=DeviceType.GAS,
                name=f"{_room_label(r)} 可燃气体探测器",
                building=r.building,
                floor=r.floor,
                room=r,
                location="后厨" if r.pk in kitchens else "厨房",
            )
        )

    # Water and electricity meters on a sample of lived-in flats.
    lived_in = [r for r in flats if r.status != RoomStatus.VACANT] or flats
    for r in _sample(lived_in, METER_ROOMS, _rng(estate, "meters")):
        for kind, short, label, where in (
            (DeviceType.WATER_METER, "wmeter", "水表", "水表井"),
            (DeviceType.ELECTRICITY_METER, "emeter", "电表", "楼层电表箱"),
        ):
            fixed.append(
                Planned(
                    key=f"{p}-{short}-{r.pk}",
                    device_type=kind,
                    name=f"{_room_label(r)} {label}",
                    building=r.building,
                    floor=r.floor,
                    room=r,
                    location=where,
                )
            )

    # SOS button and wearable of persons living alone in old age, located in their flat.
    tagged = list(
        CareTag.objects.filter(estate=estate, kind=CareKind.ELDERLY_ALONE, end_date__isnull=True)
        .order_by("pk")
        .values_list("person_id", flat=True)
    )
    homes: dict[int, Room] = {}
    by_pk = {r.pk: r for r in rooms}
    for person_id, room_id in (
        Occupancy.objects.filter(estate=estate, person_id__in=tagged, end_date__isnull=True)
        .order_by("start_date", "pk")
        .values_list("person_id", "room_id")
    ):
        if room_id in by_pk:
            homes.setdefault(person_id, by_pk[room_id])
    sos_rooms: set[int] = set()
    for person_id in [pid for pid in tagged if pid in homes][:ELDERLY]:
        r = homes[person_id]
        if r.pk not in sos_rooms:
            sos_rooms.add(r.pk)
            fixed.append(
                Planned(
                    key=f"{p}-sos-{r.pk}",
                    device_type=DeviceType.SOS_BUTTON,
                    name=f"{_room_label(r)} 紧急呼叫按钮",
                    building=r.building,
                    floor=r.floor,
                    room=r,
                    location="卧室床头",
                )
            )
        fixed.append(
            Planned(
                key=f"{p}-wear-{person_id}",
                device_type=DeviceType.WEARABLE,
                name=f"{_room_label(r)} 老人手环",
                building=r.building,
                floor=r.floor,
                room=r,
                location="随身佩戴",
            )
        )

    # Smoke detectors in ~8% of the flats (at least one), within the estate's device budget.
    n_smoke = max(1, round(len(flats) * SMOKE_SHARE)) if flats else 0
    n_smoke = max(min(n_smoke, MAX_PER_ESTATE - len(fixed)), min(1, len(flats)))
    smoke = [
        Planned(
            key=f"{p}-smoke-{r.pk}",
            device_type=DeviceType.SMOKE,
            name=f"{_room_label(r)} 烟感",
            building=r.building,
            floor=r.floor,
            room=r,
            location="客厅吊顶",
        )
        for r in _sample(flats, n_smoke, _rng(estate, "smoke"))
    ]
    return smoke + fixed


def seed(estate: Region, *, log: Callable[[str], None] = print) -> dict[str, int]:
    """Register the estate's demo fleet; returns the number created per device type (0 on a re-run)."""
    started = time.monotonic()
    user = _property_admin(estate)
    if user is None:
        log(f"  {estate.name}: no property admin, no demo devices")
        return {}
    actor = actor_for_user(user, via="demo")
    profiles = {p.key: p for p in DeviceProfile.objects.filter(key__in=DeviceType.values)}
    planned = plan(estate)
    existing = set(Device.objects.filter(key__in=[d.key for d in planned]).values_list("key", flat=True))
    taken_vendor = set(
        Device.objects.filter(vendor_id__in=[d.vendor_id for d in planned if d.vendor_id]).values_list(
            "adapter", "vendor_id"
        )
    )
    created: dict[str, int] = {}
    with transaction.atomic():
        for d in planned:
            profile = profiles.get(d.device_type)
            if d.key in existing or profile is None:
                continue
            services.device_create(
                actor=actor,
                estate=estate,
                profile=profile,
                name=d.name,
                key=d.key,
                building=d.building,
                floor=d.floor,
                room=d.room,
                facility=d.facility,
                location=d.location,
                adapter=d.adapter,
                vendor_id="" if (d.adapter, d.vendor_id) in taken_vendor else d.vendor_id,
            )
            created[str(d.device_type)] = created.get(str(d.device_type), 0) + 1
    total = sum(created.values())
    log(
        f"  {estate.name}: {total} devices registered, {len(existing)} already there "
        f"({time.monotonic() - started:.1f} s)"
    )
    return created
