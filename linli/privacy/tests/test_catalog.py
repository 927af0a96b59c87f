import csv
import io
import json

import pytest
from django.apps import apps
from django.urls import reverse
from openpyxl import load_workbook

from linli.core.audit import Action
from linli.core.catalog import Level, PIType, SensitiveCategory
from linli.core.fields import EncryptedTextField
from linli.core.models import AuditEvent
from linli.orgs.roles import Role
from linli.privacy import selectors
from linli.privacy.tests.pii import find_pii


def _stored_field_names():
    names = set()
    for model in apps.get_models():
        for f in [*model._meta.concrete_fields, *model._meta.local_many_to_many]:
            names.add(f"{model._meta.label_lower}.{f.name}")
    return names


def test_every_stored_field_of_every_model_has_exactly_one_catalogue_row():
    rows = selectors.catalog_rows()

    keys = [f"{r.app_label}.{r.model}.{r.field}" for r in rows]
    assert len(keys) == len(set(keys))
    assert set(keys) == _stored_field_names()


def test_the_catalogue_has_no_gaps_or_inconsistencies():
    assert selectors.catalog_problems() == []


def test_every_row_has_purpose_basis_level_and_retention():
    rows = selectors.catalog_rows()

    assert [r for r in rows if not (r.purpose and r.basis and r.retention and r.level in Level.values)] == []


def test_every_sensitive_field_names_its_category():
    rows = selectors.catalog_rows()

    assert [
        r.field for r in rows if r.pi == PIType.SENSITIVE and r.category not in SensitiveCategory.values
    ] == []


def test_every_encrypted_column_is_marked_encrypted_and_at_least_level_3():
    encrypted = {
        f"{m._meta.label_lower}.{f.name}"
        for m in apps.get_models()
        for f in m._meta.concrete_fields
        if isinstance(f, EncryptedTextField)
    }
    rows = {f"{r.app_label}.{r.model}.{r.field}": r for r in selectors.catalog_rows()}

    assert encrypted  # the platform does encrypt something
    assert [k for k in encrypted if not rows[k].encrypted] == []
    assert [k for k in encrypted if rows[k].level < Level.L3] == []
    assert {k for k, r in rows.items() if r.encrypted} == encrypted


def test_id_numbers_and_auth_secrets_are_level_4():
    rows = selectors.catalog_index()

    assert rows["people.person.id_number"].level == Level.L4
    assert rows["people.person.id_number"].category == SensitiveCategory.ID_DOCUMENT
    assert rows["accounts.user.totp_secret"].category == SensitiveCategory.AUTH_SECRET
    assert rows["accounts.user.password"].level == Level.L4
    assert rows["sessions.session.session_key"].level == Level.L4


def test_django_builtin_models_and_many_to_many_tables_are_declared():
    rows = selectors.catalog_index()

    assert rows["auth.group.permissions"].column == "auth_group_permissions"
    assert rows["accounts.user.groups"].column == "accounts_user_groups"
    assert rows["orgs.membership.scope"].purpose == "访问授权与职责划分"
    assert rows["admin.logentry.object_repr"].pi == PIType.GENERAL
    assert rows["contenttypes.contenttype.model"].basis == "none"


def test_an_undeclared_model_is_reported(monkeypatch):
    from linli.privacy.models import Purpose

    monkeypatch.setattr(Purpose, "catalog", None)

    problems = selectors.catalog_problems()

    assert "privacy.purpose: no catalogue declaration" in problems
    assert selectors.catalog_index()["privacy.purpose.code"].level == Level.L4  # unknown → 就高从严


def test_dataset_level_is_the_highest_level_of_its_fields():
    assert selectors.dataset_level(["people.person.name", "places.room.standard_address"]) == Level.L3
    assert selectors.dataset_level(["people.person.name", "people.person.id_number"]) == Level.L4
    assert selectors.dataset_level(["places.region.name"]) == Level.L1
    with pytest.raises(KeyError):
        selectors.dataset_level(["people.person.religion"])
    with pytest.raises(ValueError):
        selectors.dataset_level([])


def test_summary_counts_fields_by_level():
    rows = selectors.catalog_rows()

    summary = selectors.catalog_summary(rows)

    assert summary.fields == len(rows)
    assert sum(summary.by_level.values()) == len(rows)
    assert summary.encrypted == sum(1 for r in rows if r.encrypted)
    assert summary.sensitive == sum(1 for r in rows if r.sensitive)


@pytest.mark.django_db
def test_catalog_page_groups_by_model_with_level_badges(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])

    response = client.get(reverse("privacy:catalog"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "people.person" in html
    assert '<span class="badge l4">L4</span>' in html
    assert '<span class="badge warn">L3</span>' in html
    assert response.context["problems"] == []
    assert find_pii(html) == []


@pytest.mark.django_db
def test_catalog_page_filters_by_level_and_sensitive(world, login):
    client = login(world.audit_admin)

    response = client.get(reverse("privacy:catalog"), {"level": "4", "sensitive": "1"})

    rows = [r for g in response.context["groups"] for r in g["rows"]]
    assert rows
    assert {(r.level, r.pi) for r in rows} == {(4, "sensitive")}


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.TECHNICIAN, Role.GUARD, Role.SERVICE_PROVIDER])
def test_catalog_page_needs_the_catalog_permission(world, login, role):
    response = login(world.a.staff[role]).get(reverse("privacy:catalog"))

    assert response.status_code == 403


@pytest.mark.django_db
def test_catalog_export_csv(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])

    response = client.get(reverse("privacy:catalog_export"), {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="linli-data-catalog-')
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == len(selectors.catalog_rows())
    person_id = next(r for r in rows if r["model"] == "person" and r["field"] == "id_number")
    assert (person_id["level"], person_id["category"], person_id["encrypted"]) == ("4", "id_document", "是")


@pytest.mark.django_db
def test_catalog_export_xlsx(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])

    response = client.get(reverse("privacy:catalog_export"), {"format": "xlsx", "level": "4"})

    wb = load_workbook(io.BytesIO(response.content))
    sheet = wb["数据目录"]
    values = list(sheet.values)
    assert values[0][:5] == ("app_label", "model", "table", "model_verbose", "field")
    assert len(values) - 1 == len(selectors.catalog_filter(selectors.catalog_rows(), level=4))
    assert {row[7] for row in values[1:]} == {4}
    meta = dict(list(wb["导出说明"].values)[1:])
    assert meta["exported_by"] == world.a.staff[Role.PROPERTY_ADMIN].username


@pytest.mark.django_db
def test_catalog_export_json_is_audited(world, login):
    client = login(world.audit_admin)

    response = client.get(
        reverse("privacy:catalog_export"), {"format": "json", "sensitive": "1"}, HTTP_X_REQUEST_ID="req-cat-1"
    )

    body = json.loads(response.content)
    assert body["meta"]["sensitive_only"] is True
    assert {r["pi"] for r in body["rows"]} == {"sensitive"}
    event = AuditEvent.objects.get(action=Action.EXPORT)
    assert (event.actor_id, event.actor_label, event.object_type, event.ip, event.request_id) == (
        world.audit_admin.pk,
        "auditor",
        "privacy.catalog",
        "127.0.0.1",
        "req-cat-1",
    )
    assert event.detail == {
        "format": "json",
        "rows": len(body["rows"]),
        "level": None,
        "sensitive_only": True,
    }


@pytest.mark.django_db
def test_catalog_export_rejects_unknown_format_and_missing_permission(world, login):
    bad = login(world.audit_admin).get(reverse("privacy:catalog_export"), {"format": "pdf"})
    denied = login(world.a.staff[Role.TECHNICIAN]).get(reverse("privacy:catalog_export"), {"format": "csv"})

    assert bad.status_code == 400
    assert denied.status_code == 403
    assert AuditEvent.objects.filter(action=Action.EXPORT).count() == 0


@pytest.mark.django_db
def test_catalog_api_returns_rows(world, login, django_assert_max_num_queries):
    client = login(world.a.staff[Role.COMMUNITY_WORKER])

    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/privacy/catalog", {"level": 4})

    assert response.status_code == 200
    rows = response.json()
    assert {r["level"] for r in rows} == {4}
    assert {"app_label": "people", "model": "person", "field": "id_number"}.items() <= next(
        r for r in rows if r["field"] == "id_number" and r["model"] == "person"
    ).items()


@pytest.mark.django_db
def test_catalog_api_export_and_denial(world, login):
    ok = login(world.a.staff[Role.PROPERTY_ADMIN]).get("/api/v1/privacy/catalog/export", {"format": "json"})
    denied = login(world.a.staff[Role.TECHNICIAN]).get("/api/v1/privacy/catalog")

    assert ok.status_code == 200
    assert len(json.loads(ok.content)["rows"]) == len(selectors.catalog_rows())
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "permission_denied"
