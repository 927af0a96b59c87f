import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from linli.core.models import ImportJob
from linli.core.pii import mask_name
from linli.orgs.roles import Role
from linli.places.models import Room
from linli.places.tests import factories as f


@pytest.mark.django_db
def test_tree_page_shows_buildings_with_room_counts(world, login):
    resp = login(world.a.staff[Role.TECHNICIAN]).get(reverse("places:tree"))

    html = resp.content.decode()
    assert resp.status_code == 200
    assert "1号楼" in html
    assert "3 套房屋" in html
    assert "乙小区" not in html


@pytest.mark.django_db
def test_rooms_page_filters_sorts_and_paginates(world, login):
    client = login(world.a.staff[Role.CUSTOMER_SERVICE])
    for i in range(55):
        f.room(estate=world.a.estate, building=world.a.building, floor=9, number=f"9{i:02d}")

    first = client.get(reverse("places:rooms"), {"floor": "9", "ordering": "number"})
    second = client.get(reverse("places:rooms"), {"floor": "9", "ordering": "number", "page": "2"})

    assert first.status_code == 200
    assert first.context["page"].paginator.count == 55
    assert [r.number for r in first.context["page"].object_list][:2] == ["900", "901"]
    assert [r.number for r in second.context["page"].object_list] == ["950", "951", "952", "953", "954"]
    assert "floor=9&amp;ordering=number&amp;page=2" in first.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{"ordering": "secret"}, {"status": "sold"}])
def test_rooms_page_bad_filter_is_400(world, login, params):
    resp = login(world.a.staff[Role.CUSTOMER_SERVICE]).get(reverse("places:rooms"), params)

    assert resp.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{"estate": "abc"}, {"floor": "9" * 40}, {"page": "x"}, {"page": "999"}])
def test_rooms_page_tolerates_odd_query_values(world, login, params):
    resp = login(world.a.staff[Role.CUSTOMER_SERVICE]).get(reverse("places:rooms"), params)

    assert resp.status_code == 200


@pytest.mark.django_db
def test_room_detail_shows_masked_occupants(world, login):
    room = world.a.rooms[0]  # persons[0] and persons[3] live here
    names = [world.a.persons[0].name, world.a.persons[3].name]

    resp = login(world.a.staff[Role.CUSTOMER_SERVICE]).get(reverse("places:room_detail", args=[room.pk]))

    html = resp.content.decode()
    assert resp.status_code == 200
    assert [o["name"] for o in resp.context["occupants"]] == [mask_name(n) for n in names]
    for name in names:
        assert name not in html
        assert mask_name(name) in html


@pytest.mark.django_db
def test_room_detail_hides_occupants_from_roles_without_people_view(world, login):
    room = world.a.rooms[0]

    resp = login(world.a.staff[Role.TECHNICIAN]).get(reverse("places:room_detail", args=[room.pk]))

    assert resp.status_code == 200
    assert resp.context["occupants"] == []
    assert "在住人员" not in resp.content.decode()


@pytest.mark.django_db
def test_room_detail_lists_parking_and_building_facilities(world, login):
    room = world.a.rooms[0]
    f.parking_space(estate=world.a.estate, code="B1-088", room=room)
    f.facility(estate=world.a.estate, building=world.a.building, name="1号楼消火栓")

    html = (
        login(world.a.staff[Role.GUARD]).get(reverse("places:room_detail", args=[room.pk])).content.decode()
    )

    assert "B1-088" in html
    assert "1号楼消火栓" in html


@pytest.mark.django_db
def test_room_detail_edit_by_property_admin(world, login):
    room = world.a.rooms[0]

    resp = login(world.a.staff[Role.PROPERTY_ADMIN]).post(
        reverse("places:room_detail", args=[room.pk]),
        {"area": "95.00", "use": "residential", "status": "vacant"},
    )

    assert resp.status_code == 302
    room.refresh_from_db()
    assert (str(room.area), room.status) == ("95.00", "vacant")


@pytest.mark.django_db
def test_room_detail_edit_without_permission_is_403(world, login):
    room = world.a.rooms[0]

    resp = login(world.a.staff[Role.GUARD]).post(
        reverse("places:room_detail", args=[room.pk]), {"status": "vacant"}
    )

    assert resp.status_code == 403
    room.refresh_from_db()
    assert room.status == "self"


@pytest.mark.django_db
def test_import_page_upload_good_file_redirects_to_job(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])
    upload = SimpleUploadedFile("rooms.xlsx", f.rooms_xlsx([("6号楼", "", 1, "101", "50", "住宅", "自住")]))

    resp = client.post(reverse("places:imports"), {"estate": world.a.estate.pk, "file": upload})

    job = ImportJob.objects.get()
    assert resp.status_code == 302
    assert resp["Location"] == reverse("places:import_detail", args=[job.pk])
    assert Room.objects.filter(building__name="6号楼").count() == 1


@pytest.mark.django_db
def test_import_detail_lists_every_error_row(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])
    rows = [("6号楼", "", "x", "101", "50", "住宅", "自住"), ("6号楼", "", 1, "102", "50", "宿舍", "自住")]
    client.post(
        reverse("places:imports"),
        {"estate": world.a.estate.pk, "file": SimpleUploadedFile("r.csv", f.rooms_csv(rows))},
    )
    job = ImportJob.objects.get()

    html = client.get(reverse("places:import_detail", args=[job.pk])).content.decode()
    listing = client.get(reverse("places:imports")).content.decode()

    assert job.status == "rejected"
    assert "楼层必须是整数，如 15 或 -1" in html
    assert "未知的用途“宿舍”" in html
    assert "r.csv" in listing
    assert Room.objects.filter(building__name="6号楼").count() == 0


@pytest.mark.django_db
def test_import_template_download(world, login):
    resp = login(world.a.staff[Role.PROPERTY_ADMIN]).get(reverse("places:import_template"))

    assert resp.status_code == 200
    assert resp["Content-Disposition"] == 'attachment; filename="rooms-template.xlsx"'


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["imports", "import_template"])
def test_import_pages_need_import_permission(world, login, name):
    resp = login(world.a.staff[Role.GUARD]).get(reverse(f"places:{name}"))

    assert resp.status_code == 403


@pytest.mark.django_db
def test_pages_need_login(client):
    resp = client.get(reverse("places:rooms"))

    assert resp.status_code == 302
    assert resp["Location"].startswith("/accounts/login")


@pytest.mark.django_db
def test_residents_cannot_open_console_pages(world, login):
    resp = login(world.a.resident).get(reverse("places:rooms"))

    # the accounts middleware sends residents to /h5/; the view itself would answer 403
    assert (resp.status_code, resp.get("Location", "/h5/")) in ((302, "/h5/"), (403, "/h5/"))
