import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from linli.core.audit import Action
from linli.core.models import AuditEvent, ImportJob
from linli.orgs.roles import Role
from linli.people.models import Person
from linli.people.tests import factories as people_f
from linli.people.tests.conftest import csv_bytes, full_ids_in, mobiles_in, row


def _no_pii(world, html: str) -> None:
    assert full_ids_in(html) == []
    assert mobiles_in(html) == []
    for p in world.a.persons:
        assert p.id_number not in html and p.phone not in html


@pytest.mark.django_db
def test_persons_page_lists_masked_rows_with_filters_and_sort(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])

    response = client.get(reverse("people:persons"), {"ordering": "-created", "estate": world.a.estate.pk})

    html = response.content.decode()
    assert response.status_code == 200
    for p in world.a.persons:
        assert reverse("people:person_detail", args=[p.pk]) in html
        assert p.id_number[:4] + "*" * 10 + p.id_number[-4:] in html
        assert p.name not in html
    assert 'name="q"' in html and 'name="building"' in html
    assert 'name="care_kind"' not in html  # special-care filter only for government roles
    _no_pii(world, html)


@pytest.mark.django_db
def test_persons_page_search_by_exact_mobile_and_paginates(world, login):
    for i in range(25):
        people_f.person(estate=world.a.estate, room=world.a.rooms[i % 3])
    client = login(world.a.staff[Role.GUARD])
    target = world.a.persons[2]

    found = client.get(reverse("people:persons"), {"q": target.phone})
    second = client.get(reverse("people:persons"), {"page": 2, "ordering": "bogus"})

    assert found.content.decode().count("/console/people/persons/") == 1
    assert reverse("people:person_detail", args=[target.pk]) in found.content.decode()
    assert second.status_code == 200 and "第 2 / 2 页" in second.content.decode()


@pytest.mark.django_db
def test_persons_page_forbidden_without_people_view(world, login):
    assert login(world.a.staff[Role.TECHNICIAN]).get(reverse("people:persons")).status_code == 403


@pytest.mark.django_db
def test_person_detail_is_masked_and_care_tags_only_for_government(world, login):
    person = world.a.persons[1]
    people_f.care_tag(person=person, kind="elderly_alone", note="独居，需每周探访")
    people_f.vehicle(owner=person, plate="晋A8888A")
    url = reverse("people:person_detail", args=[person.pk])

    admin_html = login(world.a.staff[Role.PROPERTY_ADMIN]).get(url).content.decode()
    worker_html = login(world.a.staff[Role.COMMUNITY_WORKER]).get(url).content.decode()

    assert person.name in admin_html and "晋A8888A" in admin_html
    assert "独居老人" not in admin_html and "独居，需每周探访" in worker_html
    assert AuditEvent.objects.filter(action=Action.SENSITIVE_READ, subject_person_id=person.pk).count() == 1
    _no_pii(world, admin_html + worker_html)


@pytest.mark.django_db
def test_reveal_form_shows_value_once_and_audits(world, login):
    person = world.a.persons[1]
    client = login(world.a.staff[Role.PROPERTY_ADMIN])
    url = reverse("people:person_detail", args=[person.pk])

    revealed = client.post(url, {"field": "phone", "reason": "联系业主处理漏水"})
    without_reason = client.post(url, {"field": "phone", "reason": ""})
    after = client.get(url)

    assert person.phone in revealed.content.decode() and revealed["Cache-Control"] == "no-store"
    assert without_reason.status_code == 400 and person.phone not in without_reason.content.decode()
    assert person.phone not in after.content.decode()
    assert list(
        AuditEvent.objects.filter(action=Action.REVEAL).values_list("reason", "subject_person_id")
    ) == [("联系业主处理漏水", person.pk)]


@pytest.mark.django_db
def test_guard_has_no_reveal_form_and_cannot_post_one(world, login):
    person = world.a.persons[1]
    client = login(world.a.staff[Role.GUARD])
    url = reverse("people:person_detail", args=[person.pk])

    page = client.get(url).content.decode()
    posted = client.post(url, {"field": "id_number", "reason": "核对身份信息"})

    assert 'name="reason"' not in page
    assert posted.status_code == 403
    assert not AuditEvent.objects.filter(action=Action.REVEAL).exists()


@pytest.mark.django_db
def test_import_page_upload_with_errors_shows_every_bad_row(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])
    data = csv_bytes(
        [
            row(
                name="甲",
                id_number=people_f.id_number(seq=800),
                phone="1",
                building="1号楼",
                room="101",
                relation="业主",
            ),
            row(
                name="乙", id_number="123", phone="13800000000", building="1号楼", room="101", relation="亲戚"
            ),
        ]
    )
    before = Person.objects.count()

    response = client.post(
        reverse("people:imports"),
        {"estate": world.a.estate.pk, "file": SimpleUploadedFile("r.csv", data)},
        follow=True,
    )

    html = response.content.decode()
    job = ImportJob.objects.get()
    assert response.redirect_chain == [(reverse("people:import_detail", args=[job.pk]), 302)]
    assert html.count("<tr><td>2</td>") == 1 and html.count("<tr><td>3</td>") == 2
    assert "关系应为" in html and Person.objects.count() == before
    assert people_f.id_number(seq=800) not in html


@pytest.mark.django_db
def test_import_page_success_and_template_download(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])
    data = csv_bytes(
        [
            row(
                name="新住户",
                id_number=people_f.id_number(seq=801),
                phone="13800000001",
                building="1号楼",
                room="201",
                relation="业主",
            )
        ]
    )

    listing = client.get(reverse("people:imports"))
    uploaded = client.post(
        reverse("people:imports"),
        {"estate": world.a.estate.pk, "file": SimpleUploadedFile("r.csv", data)},
        follow=True,
    )
    template = client.get(reverse("people:import_template"))

    assert listing.status_code == 200 and "下载模板" in listing.content.decode()
    assert "导入成功" in uploaded.content.decode()
    assert Person.objects.filter(name="新住户").count() == 1
    assert template.status_code == 200 and template["Content-Type"].startswith(
        "application/vnd.openxmlformats"
    )


@pytest.mark.django_db
def test_import_pages_need_import_permission(world, login):
    client = login(world.a.staff[Role.GUARD])

    assert client.get(reverse("people:imports")).status_code == 403
    assert client.get(reverse("people:import_template")).status_code == 403


@pytest.mark.django_db
def test_template_has_every_column_and_imports_back(world, actor_of):
    import io

    from openpyxl import load_workbook

    from linli.people import imports, services

    content = imports.template_xlsx()
    ws = load_workbook(io.BytesIO(content)).worksheets[0]
    header = [c.value for c in ws[1]]
    ws.cell(row=2, column=3, value=people_f.id_number(seq=802))
    ws.cell(row=2, column=7, value="101")
    ws.cell(row=2, column=5, value="1号楼")
    ws.cell(row=2, column=6, value="1单元")
    buf = io.BytesIO()
    ws.parent.save(buf)

    job = services.residents_import(
        actor=actor_of(world.a.staff[Role.PROPERTY_ADMIN]),
        estate=world.a.estate,
        file_name="t.xlsx",
        data=buf.getvalue(),
    )

    assert header == list(imports.COLUMNS.values())
    assert (job.status, job.created_count) == ("applied", 1)


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("people:persons"))

    assert response.status_code == 302 and "/accounts/" in response["Location"]
