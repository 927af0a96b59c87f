"""The demo's residents: households of owners and family, tenants with rental registrations,
landlords, special-care tags, vehicles and shops (part of ``linli.demo.generator``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from linli.core import crypto
from linli.demo import identities as ident
from linli.demo.estates import BATCH, EstateBuilder, _n
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
from linli.places.models import Region, Room, RoomStatus

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
class _Member:
    """A person planned for a room before it is saved."""

    person: Person
    relation: str
    start: date


class ResidentBuilder(EstateBuilder):
    """The people living and working in the rooms the estate builder made."""

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
