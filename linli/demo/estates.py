"""The demo's places: the region chain down to 学府社区, the estates 学府花园 and 康乐苑 with their
buildings, units and rooms, parking spaces and facilities (part of ``linli.demo.generator``)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from linli.demo import identities as ident
from linli.places import services as places
from linli.places.models import Facility, ParkingSpace, Region, RegionLevel, Room, RoomStatus, RoomUse

BATCH = 500

CHAIN = [
    (RegionLevel.PROVINCE, "山西省", "140000"),
    (RegionLevel.CITY, "太原市", "140100"),
    (RegionLevel.DISTRICT, "小店区", "140105"),
    (RegionLevel.STREET, "坞城街道", "140105002"),
    (RegionLevel.COMMUNITY, "学府社区", "140105002001"),
]


@dataclass(frozen=True)
class EstateSpec:
    name: str
    code: str
    address: str
    buildings: int
    delivered: int  # year the flats were handed over (earliest move-in)
    slug: str  # prefix of the estate's demo usernames


ESTATES = [
    EstateSpec("学府花园", "XFHY", "太原市小店区学府街 118 号", 13, 2009, "xfhy"),
    EstateSpec("康乐苑", "KLY", "太原市小店区坞城路 96 号", 12, 2014, "kly"),
]

# Building shapes: (units, rooms per floor per unit, floor range), weighted; most are 一梯两户 towers.
BUILDING_SHAPES = [((2, 2, (18, 24)), 6), ((3, 2, (18, 22)), 2), ((2, 3, (18, 22)), 1), ((2, 4, (18, 20)), 1)]
AREA_BY_ROOMS_PER_FLOOR = {2: (95, 160), 3: (78, 128), 4: (60, 98)}


def _n(value: float, scale: float, minimum: int = 1) -> int:
    return max(minimum, round(value * scale))


class EstateBuilder:
    """One demo build's shared state (seeded random, scale, counts) and its places."""

    def __init__(self, *, seed: int, scale: float, today: date, log: Callable[[str], None]) -> None:
        self.rng = random.Random(seed)
        self.scale = scale
        self.today = today
        self.log = log
        self.pool = ident.IdentityPool(self.rng)
        self.counts: dict[str, int] = {}
        self.chain: list[Region] = []
        self.estates: list[tuple[EstateSpec, Region]] = []

    # -- places ---------------------------------------------------------------------------------
    def build_places(self) -> None:
        parent = None
        for level, name, code in CHAIN:
            parent = places.region_create(level=level, name=name, parent=parent, code=code)
            self.chain.append(parent)
        community = self.chain[-1]
        rooms: list[Room] = []
        self.shop_rooms: list[Room] = []
        self.buildings: dict[int, list[tuple[Region, list[Region], int]]] = {}
        for i, spec in enumerate(ESTATES):
            estate = places.region_create(
                level=RegionLevel.ESTATE,
                name=spec.name,
                parent=community,
                code=spec.code,
                address=spec.address,
                sort=i,
            )
            self.estates.append((spec, estate))
            ancestors = [*self.chain, estate]
            self.buildings[estate.pk] = []
            n_buildings = _n(spec.buildings, self.scale)
            floor_factor = min(1.0, self.scale * 5)
            for b in range(1, n_buildings + 1):
                ((units, per_floor, (lo, hi)),) = self.rng.choices(
                    [s for s, _ in BUILDING_SHAPES], weights=[w for _, w in BUILDING_SHAPES]
                )
                floors = max(3, round(self.rng.randint(lo, hi) * floor_factor))
                building = places.region_create(
                    level=RegionLevel.BUILDING, name=f"{b}号楼", parent=estate, code=f"{b:02d}", sort=b
                )
                unit_nodes = [
                    places.region_create(
                        level=RegionLevel.UNIT, name=f"{u}单元", parent=building, code=str(u), sort=u
                    )
                    for u in range(1, units + 1)
                ]
                self.buildings[estate.pk].append((building, unit_nodes, floors))
                lo_area, hi_area = AREA_BY_ROOMS_PER_FLOOR[per_floor]
                shops_here = b <= 2  # the two buildings on the street have shops on the ground floor
                for unit in unit_nodes:
                    for floor in range(1, floors + 1):
                        for k in range(1, per_floor + 1):
                            commercial = shops_here and floor == 1
                            area = (
                                self.rng.uniform(40, 160)
                                if commercial
                                else self.rng.uniform(lo_area, hi_area) * (1 + 0.04 * (k in (1, per_floor)))
                            )
                            room = places.room_build(
                                estate=estate,
                                building=building,
                                unit=unit,
                                floor=floor,
                                number=f"{floor}{k:02d}",
                                area=Decimal(f"{area:.2f}"),
                                use=RoomUse.COMMERCIAL if commercial else RoomUse.RESIDENTIAL,
                                ancestors=ancestors,
                            )
                            (self.shop_rooms if commercial else rooms).append(room)
        # Occupancy status: ~8% vacant, ~15% rented, the rest lived in by their owners.
        order = list(range(len(rooms)))
        self.rng.shuffle(order)
        n_vacant, n_rented = round(len(rooms) * 0.08), round(len(rooms) * 0.15)
        for rank, idx in enumerate(order):
            rooms[idx].status = (
                RoomStatus.VACANT
                if rank < n_vacant
                else RoomStatus.RENTED
                if rank < n_vacant + n_rented
                else RoomStatus.SELF_OCCUPIED
            )
        for j, room in enumerate(self.shop_rooms):
            room.status = RoomStatus.VACANT if j % 5 == 4 else RoomStatus.RENTED
        Room.objects.bulk_create(rooms + self.shop_rooms, batch_size=BATCH)
        self.rooms = rooms
        self.counts["buildings"] = sum(len(v) for v in self.buildings.values())
        self.counts["rooms"] = len(rooms) + len(self.shop_rooms)
        self.log(f"  places: {self.counts['buildings']} buildings, {self.counts['rooms']} rooms")
        self._parking_and_facilities()

    def _parking_and_facilities(self) -> None:
        spaces: list[ParkingSpace] = []
        facilities: list[Facility] = []
        per_estate = _n(300, self.scale)
        for spec, estate in self.estates:
            estate_rooms = [
                r for r in self.rooms if r.estate_id == estate.pk and r.status != RoomStatus.VACANT
            ]
            for i in range(per_estate):
                zone = "地面停车场" if i >= per_estate * 0.85 else f"地下一层 {'ABC'[i % 3]} 区"
                kind = (
                    ParkingSpace.Kind.TEMPORARY
                    if zone == "地面停车场"
                    else ParkingSpace.Kind.OWNED
                    if i % 2 == 0
                    else ParkingSpace.Kind.RENTED
                )
                prefix = "P" if zone == "地面停车场" else f"B1-{'ABC'[i % 3]}"
                spaces.append(
                    ParkingSpace(
                        estate=estate,
                        code=f"{prefix}{i + 1:03d}",
                        zone=zone,
                        kind=kind,
                        room=self.rng.choice(estate_rooms)
                        if kind == ParkingSpace.Kind.OWNED and estate_rooms
                        else None,
                    )
                )
            for gate in ("南门", "北门", "东门（人行）", "地库入口", "地库出口"):
                facilities.append(
                    Facility(estate=estate, kind=Facility.Kind.GATE, name=f"{spec.name}{gate}", location=gate)
                )
                facilities.append(
                    Facility(estate=estate, kind=Facility.Kind.CAMERA, name=f"{gate}监控", location=gate)
                )
            for name, kind in (
                ("生活水泵 1 号", Facility.Kind.PUMP),
                ("生活水泵 2 号", Facility.Kind.PUMP),
                ("消防水泵", Facility.Kind.PUMP),
                ("喷淋泵", Facility.Kind.SPRINKLER),
            ):
                facilities.append(Facility(estate=estate, kind=kind, name=name, location="地下一层水泵房"))
            for i in range(1, _n(10, self.scale) + 1):
                facilities.append(
                    Facility(
                        estate=estate,
                        kind=Facility.Kind.CHARGER,
                        name=f"充电桩 {i:02d}",
                        location="地下一层 C 区",
                    )
                )
            for building, units, floors in self.buildings[estate.pk]:
                for side in ("东侧", "西侧"):
                    facilities.append(
                        Facility(
                            estate=estate,
                            building=building,
                            kind=Facility.Kind.HYDRANT,
                            name=f"{building.name}{side}室外消火栓",
                            location=f"{building.name}{side}",
                        )
                    )
                facilities.append(
                    Facility(
                        estate=estate,
                        building=building,
                        kind=Facility.Kind.EXTINGUISHER,
                        name=f"{building.name}灭火器组",
                        location=f"{building.name}各层消防箱",
                    )
                )
                for unit in units:
                    for lift in (1, 2):
                        label = "（消防）" if lift == 2 and floors >= 18 else ""
                        status = "fault" if self.rng.random() < 0.02 else "normal"
                        facilities.append(
                            Facility(
                                estate=estate,
                                building=building,
                                kind=Facility.Kind.ELEVATOR,
                                name=f"{building.name}{unit.name}{lift}号电梯{label}",
                                location=f"{building.name}{unit.name}",
                                status=status,
                            )
                        )
        ParkingSpace.objects.bulk_create(spaces, batch_size=BATCH)
        Facility.objects.bulk_create(facilities, batch_size=BATCH)
        self.counts["parking_spaces"] = len(spaces)
        self.counts["facilities"] = len(facilities)
