"""Cross-scope probe: a user of estate a, whatever their role, never reaches a device of estate b —
not through any endpoint, not through any page, not in any list."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conftest import ESTATE_ROLES
from linli.core.models import ImportJob
from linli.devices import services
from linli.devices.models import Device, DeviceProfile, DeviceStatus
from linli.devices.tests import factories as f
from linli.orgs.roles import ROLE_PERMISSIONS, Perm, Role
from linli.orgs.selectors import actor_for_user

pytestmark = pytest.mark.django_db
API = "/api/v1/devices"


def _expected(role: str, perm: str) -> int:
    """Out of scope is 404; a role lacking the permission altogether is refused first (403)."""
    return 404 if perm in ROLE_PERMISSIONS.get(role, frozenset()) else 403


@pytest.fixture
def b_device(world):
    from linli.devices.ingest import record_rejected

    dev, secret = f.device(world.b, profile="temperature")
    record_rejected(reason="bad_signature", topic="linli/v1/b/x/telemetry", sample=b"{}", device_id=dev.pk)
    services.devices_import(
        actor=actor_for_user(world.b.staff[Role.PROPERTY_ADMIN]),
        estate=world.b.estate,
        file_name="b.csv",
        data="名称,设备类型\nB 导入,smoke\n".encode(),
    )
    return dev, secret


@pytest.mark.parametrize("role", ESTATE_ROLES)
def test_api_endpoints_never_reach_another_estates_device(world, login, b_device, role):
    dev, secret = b_device
    client = login(world.a.staff[role])
    view, manage = _expected(role, Perm.DEVICES_VIEW), _expected(role, Perm.DEVICES_MANAGE)
    reads = [
        f"{API}/{dev.pk}",
        f"{API}/{dev.pk}/telemetry?point=temperature",
        f"{API}/{dev.pk}/events",
        f"{API}/{dev.pk}/rejected",
    ]
    for url in reads:
        assert client.get(url).status_code == view, url
    for op in ("rotate", "revoke", "enable", "disable"):
        assert (
            client.post(f"{API}/{dev.pk}/{op}", {}, content_type="application/json").status_code == manage
        ), op
    created = client.post(
        API,
        {"estate_id": world.b.estate.pk, "profile_id": dev.profile_id, "name": "x", "key": "probe-x"},
        content_type="application/json",
    )
    imported = client.post(
        f"{API}/import",
        {
            "estate_id": world.b.estate.pk,
            "file": SimpleUploadedFile("d.csv", "名称,设备类型\nY,smoke\n".encode()),
        },
    )
    assert (created.status_code, imported.status_code) == (manage, manage)
    dev.refresh_from_db()
    assert (dev.status, dev.secret, dev.credential_version) == (DeviceStatus.ACTIVE, secret, 1)
    assert set(Device.objects.filter(estate=world.b.estate).values_list("name", flat=True)) == {
        dev.name,
        "B 导入",
    }


@pytest.mark.parametrize("role", ESTATE_ROLES)
def test_api_lists_never_contain_another_estates_devices(world, login, b_device, role):
    mine, _s = f.device(world.a)
    client = login(world.a.staff[role])
    response = client.get(API, {"page_size": 100})
    if Perm.DEVICES_VIEW not in ROLE_PERMISSIONS[role]:
        assert response.status_code == 403
        return
    assert [d["id"] for d in response.json()["items"]] == [mine.pk]
    assert client.get(API, {"estate": world.b.estate.pk}).json()["count"] == 0
    assert client.get(API, {"building": world.b.building.pk}).json()["count"] == 0
    assert client.get(f"{API}/rejected", {"estate": world.b.estate.pk}).json()["count"] == 0


@pytest.mark.parametrize("role", ESTATE_ROLES)
def test_pages_never_reach_another_estates_device(world, login, b_device, role):
    dev, secret = b_device
    mine, _m = f.device(world.a)
    client = login(world.a.staff[role])
    view, manage = _expected(role, Perm.DEVICES_VIEW), _expected(role, Perm.DEVICES_MANAGE)
    assert client.get(reverse("devices:detail", args=[dev.pk])).status_code == view
    for op in ("rotate", "revoke", "enable", "disable"):
        assert client.post(reverse("devices:act", args=[dev.pk, op])).status_code == manage, op
    listing = client.get(reverse("devices:list"), {"estate": world.b.estate.pk})
    imported = client.post(
        reverse("devices:import"),
        {
            "estate": world.b.estate.pk,
            "file": SimpleUploadedFile("d.csv", "名称,设备类型\nY,smoke\n".encode()),
        },
    )
    created = client.post(
        reverse("devices:create"),
        {"estate": world.b.estate.pk, "profile": DeviceProfile.objects.get(key="smoke").pk, "name": "z"},
    )
    assert imported.status_code == manage
    if view == 404:
        assert listing.status_code == 200
        assert listing.context["counts"]["total"] == 0
        full = client.get(reverse("devices:list")).content.decode()
        assert mine.key in full and dev.key not in full
        assert world.b.estate.name not in full
    else:
        assert listing.status_code == 403
    if manage == 404:
        assert created.status_code == 400  # the estate is not offered and not found: nothing is created
        jobs = client.get(reverse("devices:import")).context["page"].object_list
        assert [j.estate_id for j in jobs] == []
    else:
        assert created.status_code == 403
    dev.refresh_from_db()
    assert (dev.status, dev.secret) == (DeviceStatus.ACTIVE, secret)
    assert not Device.objects.filter(name__in=["Y", "z"]).exists()
    assert ImportJob.objects.filter(estate=world.b.estate).count() == 1
