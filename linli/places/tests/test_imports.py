import time
from decimal import Decimal

import pytest

from linli.core.audit import Action
from linli.core.errors import NotFound, PayloadTooLarge, PermissionDenied
from linli.core.models import AuditEvent, ImportJob
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.places import imports, services
from linli.places.models import Region, RegionLevel, Room, RoomStatus, RoomUse
from linli.places.tests import factories as f

GOOD_ROWS = [
    ("5号楼", "1单元", 1, "101", 89.5, "住宅", "自住"),
    ("5号楼", "1单元", 1, "102", "120.25", "住宅", "出租"),
    ("5号楼", "2单元", 2, "201", 75, "办公", "空置"),
    ("商业楼", "", 1, "S01", 45.0, "商铺", "未交付"),
]


def _admin(world):
    return actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])


def _snapshot():
    return (
        Room.objects.count(),
        Region.objects.count(),
        AuditEvent.objects.filter(action=Action.IMPORT).count(),
    )


@pytest.mark.django_db
def test_xlsx_import_creates_buildings_units_and_rooms(world):
    actor = _admin(world)

    job = services.rooms_import(
        actor=actor, estate=world.a.estate, file_name="rooms.xlsx", data=f.rooms_xlsx(GOOD_ROWS)
    )

    assert (job.status, job.total_rows, job.created_count, job.errors) == (ImportJob.Status.APPLIED, 4, 4, [])
    building = Region.objects.get(parent=world.a.estate, name="5号楼")
    assert sorted(building.children.values_list("name", flat=True)) == ["1单元", "2单元"]
    room = Room.objects.get(building=building, number="102")
    assert (room.unit.name, room.floor, room.area, room.use, room.status) == (
        "1单元",
        1,
        Decimal("120.25"),
        RoomUse.RESIDENTIAL,
        RoomStatus.RENTED,
    )
    assert room.path == room.unit.path
    assert room.standard_address == "山西省太原市小店区坞城街道学府社区甲小区5号楼1单元102室"
    shop = Room.objects.get(building__name="商业楼", number="S01")
    assert (shop.unit, shop.use, shop.status, shop.area) == (
        None,
        RoomUse.COMMERCIAL,
        RoomStatus.UNDELIVERED,
        Decimal("45.00"),
    )
    event = AuditEvent.objects.get(action=Action.IMPORT)
    assert (event.object_id, event.estate_id, event.detail) == (
        str(job.pk),
        world.a.estate.pk,
        {"kind": "places.rooms", "rooms": 4, "buildings": 2, "units": 2},
    )


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk"])
def test_csv_import_in_each_encoding(world, encoding):
    data = f.rooms_csv([("1号楼", "1单元", 8, "801", "90.00", "住宅", "自住")], encoding=encoding)

    job = services.rooms_import(actor=_admin(world), estate=world.a.estate, file_name="rooms.csv", data=data)

    assert (job.status, job.created_count) == (ImportJob.Status.APPLIED, 1)
    assert Room.objects.get(building=world.a.building, unit=world.a.unit, number="801").floor == 8


@pytest.mark.django_db
def test_english_headers_and_values_are_accepted(world):
    header = ("Building", "Unit", "Floor", "Number", "Area", "Use", "Status")
    data = f.rooms_csv([("7", "2", "3", "302", "66.6", "office", "vacant")], header=header)

    job = services.rooms_import(actor=_admin(world), estate=world.a.estate, file_name="r.csv", data=data)

    assert job.status == ImportJob.Status.APPLIED
    room = Room.objects.get(number="302", building__name="7号楼")
    assert (room.unit.name, room.use, room.status) == ("2单元", RoomUse.OFFICE, RoomStatus.VACANT)


@pytest.mark.django_db
def test_malformed_file_changes_nothing_and_reports_every_bad_row(world):
    rows = [
        ("9号楼", "1单元", 1, "101", "80", "住宅", "自住"),  # row 2: fine
        ("", "1单元", 1, "102", "80", "住宅", "自住"),  # row 3: no building
        ("9号楼", "1单元", "一楼", "103", "80", "住宅", "自住"),  # row 4: floor not a number
        ("9号楼", "1单元", 1, "104", "0", "住宅", "自住"),  # row 5: area not > 0
        ("9号楼", "1单元", 1, "105", "80.123", "住宅", "自住"),  # row 6: three decimals
        ("9号楼", "1单元", 1, "106", "80", "宿舍", "自住"),  # row 7: unknown use
        ("9号楼", "1单元", 1, "107", "80", "住宅", "借住"),  # row 8: unknown status
        ("9号楼", "1单元", 1, "101", "80", "住宅", "自住"),  # row 9: duplicate of row 2
        ("1号楼", "1单元", 1, "101", "80", "住宅", "自住"),  # row 10: already in the estate
        ("9号楼", "1单元", 1, "108", "100000", "住宅", "自住"),  # row 11: area too large
    ]
    before = _snapshot()

    job = services.rooms_import(
        actor=_admin(world), estate=world.a.estate, file_name="bad.xlsx", data=f.rooms_xlsx(rows)
    )

    assert _snapshot() == before
    assert (job.status, job.total_rows, job.created_count) == (ImportJob.Status.REJECTED, 10, 0)
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (3, "楼栋"),
        (4, "楼层"),
        (5, "建筑面积"),
        (6, "建筑面积"),
        (7, "用途"),
        (8, "状态"),
        (9, "房号"),
        (10, "房号"),
        (11, "建筑面积"),
    ]
    messages = {e["row"]: e["message"] for e in job.errors}
    assert messages[3] == "楼栋不能为空"
    assert messages[4] == "楼层必须是整数，如 15 或 -1"
    assert messages[5] == "建筑面积必须大于 0 且小于 100000 平方米"
    assert messages[6] == "建筑面积最多保留两位小数"
    assert messages[7] == "未知的用途“宿舍”，可选：住宅、商铺、办公、储藏室、其他"
    assert messages[8] == "未知的状态“借住”，可选：自住、出租、空置、未交付"
    assert messages[9] == "与第 2 行重复（同一楼栋、单元、房号）"
    assert messages[10] == "该房屋已存在（1号楼1单元101）"
    assert not Region.objects.filter(name="9号楼").exists()


@pytest.mark.django_db
def test_row_missing_several_values_reports_each(world):
    data = f.rooms_csv([("1号楼", "", "", "", "", "", "")])

    job = services.rooms_import(actor=_admin(world), estate=world.a.estate, file_name="r.csv", data=data)

    assert [(e["row"], e["column"], e["message"]) for e in job.errors] == [
        (2, "楼层", "楼层不能为空"),
        (2, "房号", "房号不能为空"),
        (2, "建筑面积", "建筑面积不能为空"),
        (2, "用途", "用途不能为空"),
        (2, "状态", "状态不能为空"),
    ]


@pytest.mark.django_db
def test_unknown_and_missing_columns_reject_the_file(world):
    data = f.rooms_csv([("1号楼", "2", "201")], header=("楼栋", "楼层", "房号", "业主电话"))
    before = _snapshot()

    job = services.rooms_import(actor=_admin(world), estate=world.a.estate, file_name="r.csv", data=data)

    assert _snapshot() == before
    assert job.status == ImportJob.Status.REJECTED
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (1, "业主电话"),
        (1, "建筑面积"),
        (1, "用途"),
        (1, "状态"),
    ]
    assert job.errors[0]["message"].startswith("未知的列“业主电话”")
    assert job.errors[1]["message"] == "缺少必填列“建筑面积”"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("file_name", "data", "message"),
    [
        ("empty.csv", b"", "文件为空"),
        ("blank.csv", b"\n\n,,,\n", "文件为空，没有表头和数据"),
        ("header.csv", "楼栋,单元,楼层,房号,建筑面积,用途,状态\n".encode(), "文件只有表头，没有房屋数据"),
        ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "文件不是有效的 XLSX 或 CSV 表格"),
        (
            "fake.xlsx",
            b"PK\x03\x04not really a zip",
            "无法读取该 XLSX 文件，请确认文件未损坏，或使用下载的模板",
        ),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "不支持该文件格式，请另存为 .xlsx 或 .csv 后再上传"),
    ],
)
def test_unreadable_files_are_rejected_with_a_clear_reason(world, file_name, data, message):
    before = _snapshot()

    job = services.rooms_import(actor=_admin(world), estate=world.a.estate, file_name=file_name, data=data)

    assert _snapshot() == before
    assert (job.status, job.errors) == (
        ImportJob.Status.REJECTED,
        [{"row": 0, "column": "", "message": message}],
    )


@pytest.mark.django_db
def test_too_many_rows_are_rejected(world, settings):
    settings.IMPORT_MAX_ROWS = 3
    rows = [("1号楼", "1单元", 9, f"90{i}", "80", "住宅", "自住") for i in range(4)]

    job = services.rooms_import(
        actor=_admin(world), estate=world.a.estate, file_name="r.csv", data=f.rooms_csv(rows)
    )

    assert job.status == ImportJob.Status.REJECTED
    assert job.errors == [{"row": 0, "column": "", "message": "文件行数超过上限 3 行，请拆分后分批导入"}]
    assert Room.objects.filter(floor=9).count() == 0


@pytest.mark.django_db
def test_oversized_file_raises_payload_too_large_and_writes_nothing(world, settings):
    settings.IMPORT_MAX_BYTES = 100
    data = f.rooms_csv([("1号楼", "1单元", 9, f"9{i:02d}", "80", "住宅", "自住") for i in range(10)])

    with pytest.raises(PayloadTooLarge):
        services.rooms_import(actor=_admin(world), estate=world.a.estate, file_name="r.csv", data=data)

    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role",
    [
        Role.CUSTOMER_SERVICE,
        Role.TECHNICIAN,
        Role.GUARD,
        Role.COMMUNITY_WORKER,
        Role.SUBDISTRICT_OFFICER,
        Role.POLICE_OFFICER,
        Role.SERVICE_PROVIDER,
    ],
)
def test_import_needs_the_import_permission(world, role):
    actor = actor_for_user(world.a.staff[role])

    with pytest.raises(PermissionDenied):
        services.rooms_import(
            actor=actor, estate=world.a.estate, file_name="r.xlsx", data=f.rooms_xlsx(GOOD_ROWS)
        )

    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_import_into_another_estate_is_not_found(world):
    with pytest.raises(NotFound):
        services.rooms_import(
            actor=_admin(world), estate=world.b.estate, file_name="r.xlsx", data=f.rooms_xlsx(GOOD_ROWS)
        )

    assert ImportJob.objects.count() == 0
    assert Room.objects.filter(estate=world.b.estate).count() == 3


@pytest.mark.django_db
def test_three_thousand_rooms_import_in_one_upload(world):
    rows = [
        (f"{b}号楼", f"{u}单元", fl, f"{fl}{r:02d}", "88.88", "住宅", "自住")
        for b in range(10, 20)
        for u in (1, 2)
        for fl in range(1, 31)
        for r in (1, 2, 3, 4, 5)
    ]
    data = f.rooms_xlsx(rows)
    estate = f.estate(name="大型小区")
    actor = actor_for_user(world.platform_admin)

    started = time.monotonic()
    job = services.rooms_import(actor=actor, estate=estate, file_name="big.xlsx", data=data)
    elapsed = time.monotonic() - started

    assert (job.status, job.total_rows, job.created_count) == (ImportJob.Status.APPLIED, 3000, 3000)
    assert Room.objects.filter(estate=estate).count() == 3000
    assert Region.objects.filter(parent=estate, level=RegionLevel.BUILDING).count() == 10
    assert elapsed < 20


def test_template_has_the_headers_and_two_example_rows():
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(imports.template_xlsx()), read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))

    assert rows[0] == ("楼栋", "单元", "楼层", "房号", "建筑面积", "用途", "状态")
    assert len(rows) == 3


@pytest.mark.django_db
def test_the_template_itself_imports(world):
    job = services.rooms_import(
        actor=_admin(world),
        estate=world.a.estate,
        file_name="rooms-template.xlsx",
        data=imports.template_xlsx(),
    )

    assert (job.status, job.created_count) == (ImportJob.Status.APPLIED, 2)


@pytest.mark.django_db
def test_file_name_is_reduced_to_a_plain_base_name(world):
    job = services.rooms_import(
        actor=_admin(world),
        estate=world.a.estate,
        file_name="C:\\tmp\\房屋\x00清单.xlsx",
        data=f.rooms_xlsx(GOOD_ROWS),
    )

    assert job.file_name == "房屋清单.xlsx"
