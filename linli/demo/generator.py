"""The demo community: two estates of 学府社区 (太原市小店区坞城街道) with rooms, residents and staff.

``generate(seed=..., scale=...)`` builds, in one transaction and mostly with ``bulk_create``:

- the region chain 山西省 → 太原市 → 小店区 → 坞城街道 → 学府社区 and the estates 学府花园 (XFHY) and
  康乐苑 (KLY) with buildings, units and rooms (≈2,400 rooms at scale 1), parking spaces and facilities;
- ≈5,000 residents: households of owners and family, tenants with rental registrations, landlords,
  special-care tags, vehicles, and shops on ground floors;
- the organisations of the area and one demo account for every role (random passwords, returned in
  ``DemoResult.accounts`` and never stored in clear).

The same seed gives the same people and places (passwords are random every time). ``scale`` shrinks
everything for tests (``LINLI_DEMO_SCALE=0.05`` builds a handful of buildings in about a second).
Sensitive values go through the model fields (``EncryptedTextField`` encrypts on save) with their
blind indexes computed here, exactly as the import services do.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from linli.accounts.models import User, UserKind
from linli.core import audit, crypto
from linli.core.audit import Action
from linli.demo import identities as ident
from linli.orgs.models import Membership, Organization, OrgKind
from linli.orgs.roles import Role
from linli.people.models import (
    CareKind,
    CareTag,
    Establishment,
    Gender,
    Household,
    Occupancy,
    Person,
    PopulationType,
    Relation,
    RentalRegistration,
    Vehicle,
)
from linli.people.services import RENTAL_REPORT_DAYS
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

ESTATE_ROLES = [
    (Role.PROPERTY_ADMIN, "manager"),
    (Role.CUSTOMER_SERVICE, "service"),
    (Role.TECHNICIAN, "tech"),
    (Role.GUARD, "guard"),
]

OCCUPATIONS = [
    "教师",
    "工程师",
    "医生",
    "护士",
    "公务员",
    "个体经营",
    "销售",
    "会计",
    "司机",
    "厨师",
    "程序员",
    "快递员",
    "外卖骑手",
    "保险代理",
    "建筑工人",
    "大学生",
    "自由职业",
    "退休",
    "退休",
    "退休",
]
WORKPLACES = [
    "山西大学",
    "中北大学",
    "山西财经大学",
    "山西省人民医院",
    "太原市第五中学",
    "小店区人民政府",
    "太原南站",
    "山西焦煤集团",
    "太原钢铁集团",
    "万象城",
    "富士康太原园区",
    "",
]
CAR_BRANDS = [
    "大众",
    "丰田",
    "本田",
    "吉利",
    "长安",
    "比亚迪",
    "哈弗",
    "别克",
    "日产",
    "奥迪",
    "宝马",
    "五菱",
]
EV_BRANDS = ["比亚迪", "特斯拉", "蔚来", "小鹏", "理想", "五菱", "埃安", "极氪"]
CAR_COLORS = ["白色", "黑色", "银色", "灰色", "红色", "蓝色", "棕色"]
SHOPS = [
    ("便利店", "零售业"),
    ("生鲜超市", "零售业"),
    ("药店", "医药零售"),
    ("面馆", "餐饮业"),
    ("理发店", "居民服务业"),
    ("洗衣店", "居民服务业"),
    ("快递驿站", "邮政业"),
    ("早餐店", "餐饮业"),
    ("五金店", "零售业"),
    ("培训学校", "教育"),
    ("宠物店", "居民服务业"),
    ("烟酒店", "零售业"),
    ("水果店", "零售业"),
    ("茶饮店", "餐饮业"),
]
CARE_NOTES = {
    CareKind.ELDERLY_ALONE: [
        "独居，子女在外地，每周电话回访",
        "独居，行动不便，每日上门探视",
        "独居，患高血压，需定期随访",
    ],
    CareKind.DISABLED: ["肢体残疾二级", "视力残疾一级", "听力残疾三级", "智力残疾二级"],
    CareKind.KEY_CARE: ["困境儿童，由祖父母照料", "重病患者家庭", "失独家庭"],
    CareKind.LOW_INCOME: ["城市低保户", "特困供养人员"],
}


@dataclass
class DemoAccount:
    username: str
    password: str | None
    role: str
    role_label: str
    estate: str | None
    estate_code: str | None
    scope: str
    organization: str
    display_name: str
    phone: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = {
            "username": self.username,
            "password": self.password,
            "role": str(self.role),
            "role_label": self.role_label,
            "estate": self.estate,
            "estate_code": self.estate_code,
            "scope": self.scope,
            "organization": self.organization,
            "display_name": self.display_name,
            "kind": str(UserKind.RESIDENT if self.role == Role.RESIDENT else UserKind.STAFF),
            "login": "/h5/login" if self.role == Role.RESIDENT else "/accounts/login/",
        }
        if self.role == Role.RESIDENT:
            data["phone"] = self.phone
        return data


@dataclass
class DemoResult:
    counts: dict[str, int] = field(default_factory=dict)
    accounts: list[DemoAccount] = field(default_factory=list)
    seconds: float = 0.0


def random_password() -> str:
    """A random password that passes the configured validators (R40)."""
    while True:
        candidate = secrets.token_urlsafe(12)  # 16 characters
        try:
            validate_password(candidate)
        except ValidationError:
            continue
        return candidate


def write_accounts(path: Path, accounts: list[DemoAccount]) -> None:
    """Write the logins to ``path`` readable by the owner only (0600), replacing any old file."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)
        json.dump([a.as_json() for a in accounts], fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


def _n(value: float, scale: float, minimum: int = 1) -> int:
    return max(minimum, round(value * scale))


@dataclass
class _Member:
    """A person planned for a room before it is saved."""

    person: Person
    relation: str
    start: date


class _Builder:
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

    # -- people ---------------------------------------------------------------------------------
    def _person(
        self,
        estate: Region,
        *,
        age: tuple[int, int],
        male: bool,
        family: str | None = None,
        area: str | None = None,
        floating: bool = False,
        phone: bool | None = None,
    ) -> Person:
        rng = self.rng
        born = ident.birth_date(rng, age_min=age[0], age_max=age[1], today=self.today)
        if area is None:
            if floating:
                areas = ident.OTHER_SHANXI_AREAS if rng.random() < 0.7 else ident.OTHER_PROVINCE_AREAS
            else:
                areas = ident.HOME_AREAS if rng.random() < 0.85 else ident.OTHER_SHANXI_AREAS
            area = rng.choice(list(areas))
        id_no = self.pool.id_number(area=area, birth=born, male=male)
        years = (self.today - born).days // 365
        has_phone = years >= 12 if phone is None else phone
        mobile = self.pool.mobile() if has_phone else ""
        place = (ident.HOME_AREAS | ident.OTHER_SHANXI_AREAS | ident.OTHER_PROVINCE_AREAS)[area]
        if years >= 60:
            occupation = "退休"
        elif years < 18:
            occupation = "学生" if years >= 6 else ""
        else:
            occupation = rng.choice(OCCUPATIONS[:-3])
        return Person(
            estate=estate,
            name=ident.person_name(rng, male=male, family=family),
            gender=Gender.MALE if male else Gender.FEMALE,
            birth_date=born,
            id_number=id_no,
            id_number_hash=crypto.blind_index(id_no, purpose=crypto.INDEX_ID_NUMBER),
            phone=mobile,
            phone_hash=crypto.blind_index(mobile, purpose=crypto.INDEX_PHONE) if mobile else "",
            population_type=PopulationType.FLOATING if floating else PopulationType.REGISTERED,
            hukou_address=f"{place}{rng.choice(ident.ROADS)}{rng.randint(1, 300)}号",
            occupation=occupation,
            workplace=rng.choice(WORKPLACES) if occupation not in ("退休", "学生", "", "自由职业") else "",
        )

    def _family(self, estate: Region, kind: str) -> list[tuple[Person, str]]:
        """People of one household, the head first, with their relation to the room."""
        rng = self.rng
        head_male = rng.random() < 0.62
        if kind == "elderly_alone":
            return [(self._person(estate, age=(68, 90), male=rng.random() < 0.35), Relation.OWNER)]
        if kind == "single":
            return [(self._person(estate, age=(24, 45), male=head_male), Relation.OWNER)]
        elderly = kind == "elderly_couple"
        head_age = (60, 82) if elderly else (28, 58)
        head = self._person(estate, age=head_age, male=head_male)
        head_years = (self.today - head.birth_date).days // 365
        spouse_years = max(22, min(90, head_years + rng.randint(-4, 3)))
        spouse = self._person(estate, age=(spouse_years, spouse_years), male=not head_male)
        members = [(head, Relation.OWNER), (spouse, Relation.FAMILY)]
        if kind in ("couple_child", "couple_two", "three_generations"):
            family = ident.family_name_of(head.name if head_male else spouse.name)
            youngest_parent = min(head_years, spouse_years)
            for _ in range(2 if kind == "couple_two" else 1):
                child_max = max(1, min(youngest_parent - 22, 24))
                members.append(
                    (
                        self._person(estate, age=(0, child_max), male=rng.random() < 0.5, family=family),
                        Relation.FAMILY,
                    )
                )
        if kind == "three_generations":
            grand_age = min(92, max(head_years, spouse_years) + rng.randint(24, 32))
            members.append(
                (self._person(estate, age=(grand_age, grand_age), male=rng.random() < 0.4), Relation.FAMILY)
            )
        return members

    def build_people(self) -> None:
        rng = self.rng
        plan: list[tuple[Room, list[_Member], bool]] = []  # room, members, is_household
        landlord_rooms: list[tuple[Room, Person]] = []
        all_heads: list[Person] = []
        elderly_alone: list[Person] = []
        tenants: list[tuple[Room, list[Person], date]] = []
        estate_spec = {estate.pk: spec for spec, estate in self.estates}
        by_estate: dict[int, list[Room]] = {}
        for room in self.rooms:
            by_estate.setdefault(room.estate_id, []).append(room)
        for estate_id, rooms in by_estate.items():
            spec = estate_spec[estate_id]
            estate = rooms[0].estate
            self_rooms = [r for r in rooms if r.status == RoomStatus.SELF_OCCUPIED]
            alone = set(rng.sample(range(len(self_rooms)), min(len(self_rooms), _n(31, self.scale))))
            delivered = date(spec.delivered, 6, 1)
            residents_here: list[Person] = []
            for i, room in enumerate(self_rooms):
                if i in alone:
                    kind = "elderly_alone"
                else:
                    kind = rng.choices(
                        [
                            "elderly_couple",
                            "single",
                            "couple",
                            "couple_child",
                            "couple_two",
                            "three_generations",
                        ],
                        weights=[14, 18, 24, 30, 6, 8],
                    )[0]
                members = self._family(estate, kind)
                moved_in = delivered + timedelta(
                    days=rng.randint(0, max(1, (self.today - delivered).days - 60))
                )
                planned = [_Member(p, rel, max(moved_in, p.birth_date)) for p, rel in members]
                plan.append((room, planned, True))
                all_heads.append(members[0][0])
                residents_here.extend(p for p, _ in members)
                if kind == "elderly_alone":
                    elderly_alone.append(members[0][0])
            adults = [p for p in residents_here if (self.today - p.birth_date).days >= 30 * 365]
            for room in (r for r in rooms if r.status != RoomStatus.SELF_OCCUPIED):
                # Landlords: some own a second flat here, most live elsewhere (registered, no household).
                if adults and rng.random() < 0.5:
                    landlord = rng.choice(adults)
                else:
                    landlord = self._person(estate, age=(35, 70), male=rng.random() < 0.6)
                    plan.append((room, [_Member(landlord, Relation.OWNER, delivered)], False))
                landlord_rooms.append((room, landlord))
                if room.status == RoomStatus.RENTED:
                    contract_start = self.today - timedelta(
                        days=rng.choice(
                            [
                                rng.randint(0, 9),
                                rng.randint(10, 720),
                                rng.randint(10, 720),
                                rng.randint(10, 720),
                            ]
                        )
                    )
                    n_tenants = rng.choices([1, 2, 3], weights=[50, 38, 12])[0]
                    first_male = rng.random() < 0.55
                    people = [
                        self._person(estate, age=(20, 45), male=first_male, floating=rng.random() < 0.75)
                    ]
                    for _ in range(n_tenants - 1):
                        people.append(
                            self._person(
                                estate, age=(18, 45), male=rng.random() < 0.5, floating=rng.random() < 0.75
                            )
                        )
                    plan.append((room, [_Member(p, Relation.TENANT, contract_start) for p in people], True))
                    tenants.append((room, people, contract_start))
        for spec, estate in self.estates:
            for room in (r for r in self.shop_rooms if r.estate_id == estate.pk):
                owner = self._person(estate, age=(35, 65), male=rng.random() < 0.6)
                plan.append((room, [_Member(owner, Relation.OWNER, date(spec.delivered, 6, 1))], False))
                landlord_rooms.append((room, owner))

        persons = [m.person for _, members, _ in plan for m in members]
        Person.objects.bulk_create(persons, batch_size=BATCH)
        households = [
            Household(estate_id=room.estate_id, room=room, head=members[0].person)
            for room, members, is_household in plan
            if is_household
        ]
        Household.objects.bulk_create(households, batch_size=BATCH)
        hh_iter = iter(households)
        occupancies: list[Occupancy] = []
        tenant_occ: dict[int, Occupancy] = {}
        owner_rooms = {room.pk for room, members, _ in plan for m in members if m.relation == Relation.OWNER}
        for room, members, is_household in plan:
            household = next(hh_iter) if is_household else None
            for m in members:
                occ = Occupancy(
                    estate_id=room.estate_id,
                    person=m.person,
                    room=room,
                    household=household,
                    relation=m.relation,
                    start_date=m.start,
                )
                occupancies.append(occ)
                if m.relation == Relation.TENANT:
                    tenant_occ[id(m.person)] = occ
        for room, landlord in landlord_rooms:  # landlords who live in another flat of the estate
            if room.pk not in owner_rooms:
                occupancies.append(
                    Occupancy(
                        estate_id=room.estate_id,
                        person=landlord,
                        room=room,
                        relation=Relation.OWNER,
                        start_date=date(2015, 3, 1),
                    )
                )
        Occupancy.objects.bulk_create(occupancies, batch_size=BATCH)
        landlord_of = {room.pk: person for room, person in landlord_rooms}
        rentals: list[RentalRegistration] = []
        for room, people, start in tenants:
            for person in people:
                deadline = start + timedelta(days=RENTAL_REPORT_DAYS)
                recent = (self.today - start).days < 10
                pending = recent or rng.random() < 0.06
                reported_at = (
                    None
                    if pending
                    else timezone.make_aware(
                        datetime.combine(start + timedelta(days=rng.randint(0, 3)), datetime.min.time())
                        + timedelta(hours=rng.randint(9, 17))
                    )
                )
                rentals.append(
                    RentalRegistration(
                        estate_id=room.estate_id,
                        occupancy=tenant_occ[id(person)],
                        landlord=landlord_of[room.pk],
                        contract_start=start,
                        contract_end=start + timedelta(days=365),
                        guarantee_signed=not recent,
                        report_deadline=deadline,
                        reported_at=reported_at,
                        status=RentalRegistration.Status.PENDING
                        if pending
                        else RentalRegistration.Status.REPORTED,
                    )
                )
        RentalRegistration.objects.bulk_create(rentals, batch_size=BATCH)
        self.persons = persons
        self.heads = all_heads
        self.counts.update(
            persons=len(persons),
            households=len(households),
            occupancies=len(occupancies),
            rental_registrations=len(rentals),
        )
        self.log(f"  people: {len(persons)} persons, {len(households)} households, {len(rentals)} rentals")
        self._care_tags(elderly_alone)
        self._vehicles()
        self._establishments()

    def _care_tags(self, elderly_alone: list[Person]) -> None:
        rng = self.rng
        tags: list[CareTag] = []
        tagged: set[tuple[int, str]] = set()

        def tag(person: Person, kind: str) -> None:
            if (person.pk, kind) in tagged:
                return
            tagged.add((person.pk, kind))
            tags.append(
                CareTag(
                    estate_id=person.estate_id,
                    person=person,
                    kind=kind,
                    note=rng.choice(CARE_NOTES[CareKind(kind)]),
                    start_date=self.today - timedelta(days=rng.randint(30, 1500)),
                )
            )

        for person in elderly_alone:
            tag(person, CareKind.ELDERLY_ALONE)
        for kind, target in ((CareKind.DISABLED, 28), (CareKind.KEY_CARE, 16), (CareKind.LOW_INCOME, 12)):
            for person in rng.sample(self.persons, min(len(self.persons), _n(target, self.scale))):
                tag(person, kind)
        CareTag.objects.bulk_create(tags, batch_size=BATCH)
        self.counts["care_tags"] = len(tags)
        self.counts["elderly_alone"] = len(elderly_alone)

    def _vehicles(self) -> None:
        rng = self.rng
        drivers = [
            p for p in self.persons if 20 * 365 <= (self.today - p.birth_date).days <= 72 * 365 and p.phone
        ]
        owners = rng.sample(drivers, min(len(drivers), _n(900, self.scale)))
        vehicles = []
        for person in owners:
            electric = rng.random() < 0.18
            vehicles.append(
                Vehicle(
                    estate_id=person.estate_id,
                    owner=person,
                    plate=self.pool.plate(electric=electric),
                    kind="ev" if electric else "car",
                    color=rng.choice(CAR_COLORS),
                    brand=rng.choice(EV_BRANDS if electric else CAR_BRANDS),
                )
            )
        Vehicle.objects.bulk_create(vehicles, batch_size=BATCH)
        self.counts["vehicles"] = len(vehicles)

    def _establishments(self) -> None:
        rng = self.rng
        rows = []
        for i, room in enumerate(r for r in self.shop_rooms if r.status != RoomStatus.VACANT):
            shop, industry = SHOPS[i % len(SHOPS)]
            estate_name = next(spec.name for spec, e in self.estates if e.pk == room.estate_id)
            contact = ident.person_name(rng, male=rng.random() < 0.5)
            rows.append(
                Establishment(
                    estate_id=room.estate_id,
                    room=room,
                    kind=Establishment.Kind.SHOP,
                    name=f"{estate_name[:2]}{contact[0]}记{shop}",
                    credit_code=ident.credit_code(rng, kind="2"),
                    industry=industry,
                    contact_name=contact,
                    contact_phone=self.pool.mobile(),
                    employees=rng.randint(1, 12),
                )
            )
        Establishment.objects.bulk_create(rows, batch_size=BATCH)
        self.counts["establishments"] = len(rows)

    # -- organisations and accounts -------------------------------------------------------------
    def build_accounts(self) -> list[DemoAccount]:
        rng = self.rng
        street, community = self.chain[3], self.chain[4]
        accounts: list[DemoAccount] = []

        def org(kind: str, name: str, regions: list[Region], authority: str = "9") -> Organization:
            o = Organization.objects.create(
                kind=kind,
                name=name,
                credit_code=ident.credit_code(rng, authority=authority),
                contact_phone=f"0351-{rng.randint(2000000, 8999999)}",
            )
            o.regions.set(regions)
            return o

        def staff(
            username: str,
            role: str,
            organization: Organization,
            scope: list[Region],
            estate: tuple[EstateSpec, Region] | None,
            scope_label: str,
        ) -> None:
            password = random_password()
            name = ident.person_name(rng, male=rng.random() < 0.5)
            user = User(
                username=username, kind=UserKind.STAFF, display_name=name, password_changed_at=timezone.now()
            )
            user.set_password(password)
            user.save()
            membership = Membership.objects.create(user=user, organization=organization, role=role)
            membership.scope.set(scope)
            audit.record(Action.ACCOUNT_CREATE, actor_label="linli demo", obj=user, detail={"role": role})
            accounts.append(
                DemoAccount(
                    username=username,
                    password=password,
                    role=role,
                    role_label=str(Role(role).label),
                    estate=estate[0].name if estate else None,
                    estate_code=estate[0].code if estate else None,
                    scope=scope_label,
                    organization=organization.name,
                    display_name=name,
                )
            )

        property_orgs = {
            "XFHY": "太原学府物业服务有限公司",
            "KLY": "山西康乐苑物业管理有限公司",
        }
        for spec, estate in self.estates:
            company = org(OrgKind.PROPERTY_COMPANY, property_orgs[spec.code], [estate])
            for role, suffix in ESTATE_ROLES:
                staff(f"{spec.slug}_{suffix}", role, company, [estate], (spec, estate), spec.name)
        committee = org(OrgKind.COMMUNITY_COMMITTEE, "学府社区居委会", [community], authority="5")
        staff("xuefu_worker", Role.COMMUNITY_WORKER, committee, [community], None, community.name)
        office = org(OrgKind.SUBDISTRICT_OFFICE, "坞城街道办事处", [street], authority="1")
        staff("wucheng_officer", Role.SUBDISTRICT_OFFICER, office, [street], None, street.name)
        police = org(OrgKind.POLICE_STATION, "坞城派出所", [street], authority="1")
        staff("wucheng_police", Role.POLICE_OFFICER, police, [street], None, street.name)
        first = self.estates[0]
        provider = org(OrgKind.SERVICE_PROVIDER, "学府便民家政服务中心", [first[1]])
        staff(f"{first[0].slug}_provider", Role.SERVICE_PROVIDER, provider, [first[1]], first, first[0].name)
        platform = org(OrgKind.PLATFORM_OPERATOR, "邻里平台运营中心", [])
        staff("platform_ops", Role.PLATFORM_ADMIN, platform, [], None, "全平台")
        staff("audit_officer", Role.AUDIT_ADMIN, platform, [], None, "全平台")
        for spec, estate in self.estates:
            accounts.append(self._resident(spec, estate))
        self.counts["organizations"] = Organization.objects.count()
        self.counts["accounts"] = len(accounts)
        return accounts

    def _resident(self, spec: EstateSpec, estate: Region) -> DemoAccount:
        """A resident account (phone + SMS code, no password) linked to an owner of this estate."""
        person = next(
            p
            for p in self.heads
            if p.estate_id == estate.pk
            and p.phone
            and 25 * 365 <= (self.today - p.birth_date).days <= 60 * 365
        )
        user = User(
            username=f"{spec.slug}_resident",
            kind=UserKind.RESIDENT,
            display_name=person.name,
            phone=person.phone,
            phone_hash=crypto.blind_index(person.phone, purpose=crypto.INDEX_PHONE),
        )
        user.set_unusable_password()
        user.save()
        Person.objects.filter(pk=person.pk).update(user=user)
        audit.record(
            Action.ACCOUNT_CREATE, actor_label="linli demo", obj=user, detail={"role": Role.RESIDENT}
        )
        return DemoAccount(
            username=user.username,
            password=None,
            role=Role.RESIDENT,
            role_label=str(Role.RESIDENT.label),
            estate=spec.name,
            estate_code=spec.code,
            scope=f"{spec.name}（本户）",
            organization="",
            display_name=person.name,
            phone=person.phone,
        )


def generate(
    *,
    seed: int,
    scale: float = 1.0,
    today: date | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> DemoResult:
    """Build the whole demo community in one transaction. Call only on a database without estates."""
    started = time.monotonic()
    builder = _Builder(seed=seed, scale=scale, today=today or timezone.localdate(), log=log)
    with transaction.atomic():
        builder.build_places()
        builder.build_people()
        accounts = builder.build_accounts()
        audit.record(
            Action.IMPORT,
            actor_label="linli demo",
            object_type="demo.dataset",
            detail={"seed": seed, "scale": scale, **builder.counts},
        )
    return DemoResult(counts=builder.counts, accounts=accounts, seconds=time.monotonic() - started)


def demo_exists() -> bool:
    return Region.objects.filter(level=RegionLevel.ESTATE).exists()


def accounts_reset() -> list[DemoAccount]:
    """New random passwords for the demo's staff accounts (when ``demo-accounts.json`` was lost).

    Only accounts the demo created (by username) are touched; residents keep signing in by phone.
    """
    known = {f"{spec.slug}_{suffix}" for spec in ESTATES for _, suffix in ESTATE_ROLES}
    known |= {
        "xuefu_worker",
        "wucheng_officer",
        "wucheng_police",
        f"{ESTATES[0].slug}_provider",
        "platform_ops",
        "audit_officer",
    }
    residents = {f"{spec.slug}_resident" for spec in ESTATES}
    estates = {spec.code: spec for spec in ESTATES}
    accounts: list[DemoAccount] = []
    users = (
        User.objects.filter(username__in=known | residents)
        .prefetch_related("memberships__organization", "memberships__scope")
        .order_by("pk")
    )
    with transaction.atomic():
        for user in users:
            if user.username in residents:
                person = Person.objects.filter(user=user).select_related("estate").first()
                spec = estates.get(person.estate.code) if person else None
                accounts.append(
                    DemoAccount(
                        username=user.username,
                        password=None,
                        role=Role.RESIDENT,
                        role_label=str(Role.RESIDENT.label),
                        estate=spec.name if spec else None,
                        estate_code=spec.code if spec else None,
                        scope=f"{spec.name}（本户）" if spec else "",
                        organization="",
                        display_name=user.display_name,
                        phone=user.phone,
                    )
                )
                continue
            membership = user.memberships.first()
            if membership is None:
                continue
            password = random_password()
            user.set_password(password)
            user.password_changed_at = timezone.now()
            user.save(update_fields=["password", "password_changed_at"])
            audit.record(
                Action.PASSWORD_CHANGE, actor_label="linli demo", obj=user, reason="demo accounts reset"
            )
            scope = list(membership.scope.all())
            estate = next((r for r in scope if r.level == RegionLevel.ESTATE), None)
            spec = estates.get(estate.code) if estate else None
            accounts.append(
                DemoAccount(
                    username=user.username,
                    password=password,
                    role=membership.role,
                    role_label=str(Role(membership.role).label),
                    estate=spec.name if spec else None,
                    estate_code=spec.code if spec else None,
                    scope="、".join(r.name for r in scope) or "全平台",
                    organization=membership.organization.name,
                    display_name=user.display_name,
                )
            )
    return accounts
