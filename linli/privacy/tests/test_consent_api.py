import pytest

from linli.people.tests import factories as people_f
from linli.privacy.models import Consent
from linli.privacy.tests import factories as privacy_f


@pytest.mark.django_db
def test_list_grant_and_withdraw_through_the_api(world, login, django_assert_max_num_queries):
    client = login(world.a.resident)

    with django_assert_max_num_queries(10):
        listed = client.get("/api/v1/privacy/me/consents")
    granted = client.post(
        "/api/v1/privacy/me/consents", {"purpose": "service_sharing"}, content_type="application/json"
    )
    withdrawn = client.post(
        "/api/v1/privacy/me/consents/service_sharing/withdraw", content_type="application/json"
    )

    assert [c["purpose"] for c in listed.json()] == [
        "face_access",
        "health_care",
        "notifications",
        "service_sharing",
        "voice_access",
    ]
    assert {c["granted"] for c in listed.json()} == {False}
    assert listed.json()[0]["notice"].startswith("处理者：")
    assert (granted.status_code, granted.json()["granted"], granted.json()["notice_version"]) == (
        200,
        True,
        1,
    )
    assert (withdrawn.status_code, withdrawn.json()["granted"]) == (200, False)


@pytest.mark.django_db
def test_api_errors_use_the_envelope(world, login):
    client = login(world.a.resident)

    unknown = client.post(
        "/api/v1/privacy/me/consents", {"purpose": "marketing"}, content_type="application/json"
    )
    empty = client.post("/api/v1/privacy/me/consents", {}, content_type="application/json")
    nothing = client.post(
        "/api/v1/privacy/me/consents/notifications/withdraw", content_type="application/json"
    )

    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert (empty.status_code, empty.json()["error"]["code"]) == (400, "validation_error")
    assert (nothing.status_code, nothing.json()["error"]["code"]) == (404, "not_found")


@pytest.mark.django_db
def test_a_parent_consents_for_their_child_through_the_api(world, login):
    household = people_f.household(room=world.a.rooms[0], head=world.a.persons[0])
    kid = privacy_f.child(estate=world.a.estate, room=world.a.rooms[0], household=household)
    client = login(world.a.resident)

    granted = client.post(
        "/api/v1/privacy/me/consents",
        {"purpose": "face_access", "person_id": kid.pk},
        content_type="application/json",
    )
    listed = client.get("/api/v1/privacy/me/consents", {"person_id": kid.pk})

    assert (granted.status_code, granted.json()["by_guardian"]) == (200, True)
    assert [c["purpose"] for c in listed.json() if c["granted"]] == ["face_access"]
    assert Consent.objects.get().guardian == world.a.persons[0]


@pytest.mark.django_db
def test_staff_have_no_my_consents(world, login):
    from linli.orgs.roles import Role

    response = login(world.a.staff[Role.PROPERTY_ADMIN]).get("/api/v1/privacy/me/consents")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
