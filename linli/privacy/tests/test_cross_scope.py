"""Cross-scope probes: a resident of estate a never obtains data of estate b or of another resident."""

import json

import pytest
from django.urls import reverse

from linli.core.audit import Action
from linli.core.models import AuditEvent
from linli.orgs.roles import Role
from linli.privacy.tests import factories as privacy_f
from linli.privacy.tests.pii import find_pii


def _others(world):
    """Every person the resident of a is not: the rest of a, and all of b."""
    return [*world.a.persons[1:], *world.b.persons]


@pytest.mark.django_db
def test_my_export_never_contains_other_residents_identifiers(world, login):
    privacy_f.consent(person=world.b.persons[0], code="notifications")

    text = login(world.a.resident).get("/api/v1/privacy/me/export").content.decode()

    leaked = set(find_pii(text)) - {world.a.persons[0].id_number, world.a.persons[0].phone}
    assert leaked == set()
    for other in _others(world):
        assert other.id_number not in text
        assert other.phone not in text
        assert other.name not in text


@pytest.mark.django_db
def test_residents_of_a_and_b_each_get_only_their_own_export(world, login):
    a = json.loads(login(world.a.resident).get("/api/v1/privacy/me/export").content)
    b = json.loads(login(world.b.resident).get("/api/v1/privacy/me/export").content)

    assert a["person"][0]["id"] == world.a.persons[0].pk
    assert b["person"][0]["id"] == world.b.persons[0].pk


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["b0", "b1", "a1", "a2"])
def test_person_id_probes_for_consents_are_404(world, login, target):
    person = {
        "b0": world.b.persons[0],
        "b1": world.b.persons[1],
        "a1": world.a.persons[1],
        "a2": world.a.persons[2],
    }[target]
    client = login(world.a.resident)

    listed = client.get("/api/v1/privacy/me/consents", {"person_id": person.pk})
    granted = client.post(
        "/api/v1/privacy/me/consents",
        {"purpose": "notifications", "person_id": person.pk},
        content_type="application/json",
    )
    withdrawn = client.post(
        "/api/v1/privacy/me/consents/notifications/withdraw",
        {"person_id": person.pk},
        content_type="application/json",
    )

    assert (listed.status_code, granted.status_code, withdrawn.status_code) == (404, 404, 404)
    assert person.consents.count() == 0
    assert AuditEvent.objects.filter(action=Action.CONSENT_GRANT).count() == 0


@pytest.mark.django_db
def test_a_child_of_estate_b_is_not_a_ward_of_a_resident_of_a(world, login):
    kid_b = privacy_f.child(estate=world.b.estate, room=world.b.rooms[0])

    response = login(world.a.resident).post(
        "/api/v1/privacy/me/consents",
        {"purpose": "face_access", "person_id": kid_b.pk},
        content_type="application/json",
    )

    assert response.status_code == 404
    assert kid_b.consents.count() == 0


@pytest.mark.django_db
def test_the_privacy_centre_shows_only_events_about_me(world, login):
    from linli.core import audit

    audit.record(
        Action.REVEAL,
        actor_label="x",
        object_type="people.person",
        object_id=world.b.persons[0].pk,
        subject_person_id=world.b.persons[0].pk,
        reason="乙小区核查",
    )
    audit.record(
        Action.REVEAL,
        actor_label="x",
        object_type="people.person",
        object_id=world.a.persons[1].pk,
        subject_person_id=world.a.persons[1].pk,
        reason="邻居核查",
    )

    html = login(world.a.resident).get(reverse("h5privacy:home")).content.decode()

    assert "乙小区核查" not in html
    assert "邻居核查" not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role", [Role.PROPERTY_ADMIN, Role.COMMUNITY_WORKER, Role.POLICE_OFFICER, Role.SUBDISTRICT_OFFICER]
)
def test_estate_staff_cannot_search_the_audit_log_of_any_estate(world, login, role):
    client = login(world.a.staff[role])

    api = client.get("/api/v1/privacy/audit", {"subject_person_id": world.b.persons[0].pk})

    assert api.status_code == 403
