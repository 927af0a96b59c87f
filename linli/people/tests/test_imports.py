import time

import pytest
from django.test import override_settings

from linli.core.audit import Action
from linli.core.models import AuditEvent, ImportJob
from linli.orgs.roles import Role
from linli.people import services
from linli.people.models import CareTag, Household, Occupancy, Person, RentalRegistration
from linli.people.tests import factories as people_f
from linli.people.tests.conftest import HEADER, csv_bytes, full_ids_in, row, xlsx_bytes


def _counts() -> tuple[int, ...]:
    return (
        Person.objects.count(),
        Household.objects.count(),
        Occupancy.objects.count(),
        RentalRegistration.objects.count(),
        CareTag.objects.count(),
    )


def _good(n: int, **overrides) -> list[str]:
    values = {
        "name": f"导入居民{n}",
        "id_number": people_f.id_number(seq=100000 + n),
        "phone": f"137{n:08d}",
        "building": "1号楼",
        "unit": "1单元",
        "room": "101",
        "relation": "业主",
        "start_date": "2024-01-01",
    }
    values.update(overrides)
    return row(**values)


@pytest.fixture
def admin(world, actor_of):
    return actor_of(world.a.staff[Role.PROPERTY_ADMIN])


@pytest.mark.django_db
def test_valid_csv_creates_persons_households_occupancies_rentals_and_tags(world, admin):
    # given
    data = csv_bytes(
        [
            _good(1),
            _good(2, relation="家属", room="201", unit="", tags="独居老人、残疾人"),
            _good(3, relation="租户", room="301", start_date="2025-02-01"),
            _good(4, id_type="普通护照", id_number="E12345678", relation="寄住"),
        ]
    )
    before = _counts()

    # when
    job = services.residents_import(actor=admin, estate=world.a.estate, file_name="住户.csv", data=data)

    # then
    assert (job.status, job.total_rows, job.created_count, job.errors) == ("applied", 4, 4, [])
    assert _counts() == (before[0] + 4, before[1] + 3, before[2] + 4, before[3] + 1, before[4] + 2)
    tenant = Person.objects.get(name="导入居民3")
    assert tenant.population_type == "floating"
    assert tenant.occupancies.get().rental.report_deadline.isoformat() == "2025-02-04"
    first = Person.objects.get(name="导入居民1")
    assert (first.id_number, first.phone, first.birth_date is not None) == (_good(1)[2], "13700000001", True)
    assert first.occupancies.get().household.head_id == first.pk
    assert set(CareTag.objects.filter(person__name="导入居民2").values_list("kind", flat=True)) == {
        "elderly_alone",
        "disabled",
    }
    event = AuditEvent.objects.filter(action=Action.IMPORT).latest("id")
    assert (event.result, event.object_id, event.detail["persons"]) == ("success", str(job.pk), 4)


@pytest.mark.django_db
def test_malformed_file_changes_nothing_and_reports_every_bad_row(world, admin):
    # given: five bad rows among good ones
    bad_check = people_f.id_number(seq=100010)[:17] + (
        "0" if people_f.id_number(seq=100010)[17] != "0" else "1"
    )
    data = csv_bytes(
        [
            _good(1),
            _good(2, id_number=bad_check),
            _good(3, phone="12345"),
            _good(4, building="9号楼"),
            _good(5, relation="朋友", start_date="2024-13-01"),
            _good(6),
            _good(7, name="", room="999"),
        ]
    )
    before = _counts()

    # when
    job = services.residents_import(actor=admin, estate=world.a.estate, file_name="bad.csv", data=data)

    # then
    assert _counts() == before
    assert (job.status, job.total_rows, job.created_count) == ("rejected", 7, 0)
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (3, "证件号码"),
        (4, "手机号"),
        (5, "楼栋"),
        (6, "关系"),
        (6, "入住日期"),
        (8, "姓名"),
        (8, "房号"),
    ]
    assert full_ids_in(str(job.errors)) == []
    assert bad_check not in str(job.errors)
    assert AuditEvent.objects.filter(action=Action.IMPORT).latest("id").result == "failure"


@pytest.mark.django_db
def test_duplicate_id_inside_file_reports_both_rows(world, admin):
    dup = people_f.id_number(seq=100050)
    data = csv_bytes([_good(1, id_number=dup), _good(2), _good(3, id_number=dup.lower())])

    job = services.residents_import(actor=admin, estate=world.a.estate, file_name="dup.csv", data=data)

    assert job.status == "rejected"
    assert job.errors == [
        {"row": 2, "column": "证件号码", "message": "证件号码与第 4 行重复"},
        {"row": 4, "column": "证件号码", "message": "证件号码与第 2 行重复"},
    ]


@pytest.mark.django_db
def test_duplicate_id_against_register_of_the_same_estate(world, admin):
    taken = world.a.persons[1].id_number
    before = _counts()

    job = services.residents_import(
        actor=admin,
        estate=world.a.estate,
        file_name="dup.csv",
        data=csv_bytes([_good(1), _good(2, id_number=taken)]),
    )

    assert job.errors == [{"row": 3, "column": "证件号码", "message": "该证件号码已在本小区登记"}]
    assert _counts() == before


@pytest.mark.django_db
def test_same_id_registered_in_another_estate_is_fine(world, admin):
    taken_in_b = world.b.persons[1].id_number

    job = services.residents_import(
        actor=admin,
        estate=world.a.estate,
        file_name="ok.csv",
        data=csv_bytes([_good(1, id_number=taken_in_b)]),
    )

    assert job.status == "applied"


@pytest.mark.django_db
def test_missing_required_columns_are_reported(world, admin):
    header = [h for h in HEADER if h not in ("手机号", "关系")]

    job = services.residents_import(
        actor=admin,
        estate=world.a.estate,
        file_name="x.csv",
        data=csv_bytes([["张三"] * len(header)], header=header),
    )

    assert job.errors == [
        {"row": 1, "column": "手机号", "message": "缺少必填列"},
        {"row": 1, "column": "关系", "message": "缺少必填列"},
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("encoding,bom", [("gbk", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-8", b"")])
def test_csv_encodings(world, admin, encoding, bom):
    data = bom + csv_bytes([_good(1, name="欧阳娜娜")], encoding=encoding)

    job = services.residents_import(actor=admin, estate=world.a.estate, file_name="gbk.csv", data=data)

    assert job.status == "applied"
    assert Person.objects.filter(name="欧阳娜娜").count() == 1


@pytest.mark.django_db
def test_xlsx_numeric_id_cell_is_refused_and_numeric_phone_accepted(world, admin):
    number = people_f.id_number(seq=100070)
    good = _good(1)
    good[3] = 13700000001  # a phone typed as a number survives Excel
    bad = _good(2)
    bad[2] = float(number[:17] + "0")  # an ID typed as a number loses digits

    job = services.residents_import(
        actor=admin, estate=world.a.estate, file_name="r.xlsx", data=xlsx_bytes([good, bad])
    )

    assert job.errors == [
        {"row": 3, "column": "证件号码", "message": "证件号码须以文本格式填写（Excel 会截断长数字）"}
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data,name",
    [
        (b"", "e.csv"),
        (b"PK\x03\x04garbage", "g.xlsx"),
        (b"\xd0\xcf\x11\xe0old", "o.xls"),
        (b"\xff\xfe\x00\x00\x81", "bin.csv"),
    ],
)
def test_unreadable_files_are_rejected_with_a_file_error(world, admin, data, name):
    job = services.residents_import(actor=admin, estate=world.a.estate, file_name=name, data=data)

    assert job.status == "rejected"
    assert [(e["row"], e["column"]) for e in job.errors] == [(0, "")]


@pytest.mark.django_db
@override_settings(IMPORT_MAX_ROWS=3)
def test_row_limit(world, admin):
    job = services.residents_import(
        actor=admin,
        estate=world.a.estate,
        file_name="many.csv",
        data=csv_bytes([_good(i) for i in range(1, 6)]),
    )

    assert job.errors == [{"row": 0, "column": "", "message": "数据行数超过上限（3 行）"}]


@pytest.mark.django_db
@override_settings(IMPORT_MAX_BYTES=1024)
def test_size_limit(world, admin):
    data = csv_bytes([_good(i) for i in range(1, 40)])

    job = services.residents_import(actor=admin, estate=world.a.estate, file_name="big.csv", data=data)

    assert (job.status, job.errors[0]["row"], job.errors[0]["message"]) == (
        "rejected",
        0,
        "文件大小超过上限（1 MB）",
    )


@pytest.mark.django_db
def test_ambiguous_room_without_unit_is_reported(world, admin):
    from linli.places.tests import factories as places_f

    unit2 = places_f.unit(building=world.a.building, name="2单元")
    places_f.room(estate=world.a.estate, building=world.a.building, unit=unit2, floor=1, number="101")

    job = services.residents_import(
        actor=admin, estate=world.a.estate, file_name="x.csv", data=csv_bytes([_good(1, unit="")])
    )

    assert [(e["row"], e["column"]) for e in job.errors] == [(2, "单元")]


@pytest.mark.django_db
def test_import_needs_permission(world, actor_of):
    from linli.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.residents_import(
            actor=actor_of(world.a.staff[Role.CUSTOMER_SERVICE]),
            estate=world.a.estate,
            file_name="x.csv",
            data=csv_bytes([_good(1)]),
        )
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db(transaction=False)
def test_ten_thousand_rows_in_one_xlsx_upload(world, admin):
    # given: 10,000 residents spread over the three rooms, every 10th a tenant
    rooms = ["101", "201", "301"]
    rows = [
        _good(i, room=rooms[i % 3], relation="租户" if i % 10 == 0 else "家属", phone=f"136{i:08d}")
        for i in range(1, 10001)
    ]
    data = xlsx_bytes(rows)
    before = Person.objects.count()

    # when
    started = time.monotonic()
    job = services.residents_import(actor=admin, estate=world.a.estate, file_name="big.xlsx", data=data)
    elapsed = time.monotonic() - started

    # then
    assert (job.status, job.total_rows, job.created_count) == ("applied", 10000, 10000)
    assert Person.objects.count() == before + 10000
    assert RentalRegistration.objects.filter(estate=world.a.estate).count() == 1000
    assert elapsed < 120
