"""SLA breach job, photo validation and EXIF stripping, and charges flowing into billing."""

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.storage import default_storage
from PIL import Image

from linli.billing.models import Bill
from linli.core.errors import Conflict, PayloadTooLarge, ValidationFailed
from linli.core.images import clean_image
from linli.core.periodic import REGISTRY, autodiscover
from linli.messaging.models import Message
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.workorders import services
from linli.workorders.models import EventKind, State, WorkOrder
from linli.workorders.tests import factories as f
from linli.workorders.tests.conftest import image_bytes

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 4, 10, 0, tzinfo=SH)


def sla_job():
    autodiscover()
    return REGISTRY["workorders.sla_check"]


def test_sla_job_registered_every_minute():
    assert sla_job().every == timedelta(minutes=1)


def test_sla_breaches_marked_once_and_escalated(world):
    admin = world.a.staff[Role.PROPERTY_ADMIN]
    with time_machine.travel(T0):
        order = f.order(world.a, kind="incident", title="电梯困人")  # 10 min / 4 h, no roster: stays new
    Message.objects.all().delete()
    job = sla_job().func
    # before the response deadline nothing happens
    assert job(T0 + timedelta(minutes=9)) == "response=0 completion=0"
    # after it: one response breach, one notice to the supervisor
    assert job(T0 + timedelta(minutes=11)) == "response=1 completion=0"
    assert job(T0 + timedelta(minutes=12)) == "response=0 completion=0"
    order.refresh_from_db()
    assert order.response_breached_at == T0 + timedelta(minutes=11)
    assert [n.title for n in Message.objects.filter(user=admin)] == ["工单响应超时：电梯困人"]
    # after the completion deadline: one completion breach
    assert job(T0 + timedelta(hours=5)) == "response=0 completion=1"
    assert job(T0 + timedelta(hours=6)) == "response=0 completion=0"
    kinds = list(order.events.values_list("kind", flat=True))
    assert kinds.count(EventKind.RESPONSE_BREACH) == 1
    assert kinds.count(EventKind.COMPLETION_BREACH) == 1
    assert Message.objects.filter(user=admin).count() == 2
    assert not Message.objects.filter(user=world.b.staff[Role.PROPERTY_ADMIN]).exists()


def test_accepted_order_has_no_response_breach(world):
    with time_machine.travel(T0):
        order = f.resident_order(world.a)
        services.workorder_assign(
            actor=actor_for_user(world.a.staff[Role.PROPERTY_ADMIN]),
            order=order,
            assignee=world.a.staff[Role.TECHNICIAN],
        )
        services.workorder_accept(actor=actor_for_user(world.a.staff[Role.TECHNICIAN]), order=order)
    assert sla_job().func(T0 + timedelta(hours=1)) == "response=0 completion=0"
    assert sla_job().func(T0 + timedelta(hours=25)) == "response=0 completion=1"


def test_done_order_never_breaches(world):
    with time_machine.travel(T0):
        order = f.resident_order(world.a)
        services.workorder_cancel(actor=actor_for_user(world.a.resident), order=order)
    assert sla_job().func(T0 + timedelta(days=3)) == "response=0 completion=0"
    assert WorkOrder.objects.get(pk=order.pk).response_breached_at is None


# --- photos ------------------------------------------------------------------------------------


def test_photo_oversize_is_413(world, settings):
    settings.UPLOAD_IMAGE_MAX_BYTES = 1000
    with pytest.raises(PayloadTooLarge):
        clean_image(b"\xff" * 1001)


def test_photo_too_many_pixels_is_413(world, settings):
    settings.UPLOAD_IMAGE_MAX_PIXELS = 100
    with pytest.raises(PayloadTooLarge):
        clean_image(image_bytes(size=(20, 20)))


@pytest.mark.parametrize(
    "data",
    [
        b"not an image",
        b"GIF89a" + b"\x00" * 40,
        image_bytes("GIF"),
        image_bytes("BMP"),
        image_bytes("JPEG")[:60],
    ],
)
def test_photo_non_image_is_400(data):
    with pytest.raises(ValidationFailed) as exc:
        clean_image(data)
    assert list(exc.value.fields) == ["photo"]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_photo_exif_stripped(fmt):
    raw = image_bytes(fmt, exif_gps=True)
    assert Image.open(io.BytesIO(raw)).getexif()  # the upload carries EXIF with GPS
    clean = clean_image(raw)
    img = Image.open(io.BytesIO(clean.data))
    assert (img.format, clean.width, clean.height) == (fmt, 40, 30)
    assert dict(img.getexif()) == {}
    assert "exif" not in img.info


def test_photos_stored_with_order(world):
    order = f.resident_order(world.a, photos=[image_bytes("PNG"), image_bytes("JPEG")])
    photos = list(order.photos.order_by("pk"))
    assert [p.content_type for p in photos] == ["image/png", "image/jpeg"]
    assert all(default_storage.exists(p.image.name) for p in photos)
    assert photos[0].image.name.startswith(f"workorders/{world.a.estate.pk}/{order.pk}/")


def test_bad_photo_rolls_back_the_order(world):
    with pytest.raises(ValidationFailed):
        f.resident_order(world.a, photos=[b"junk"])
    assert WorkOrder.objects.count() == 0


# --- billing -----------------------------------------------------------------------------------


def _private_in_progress(world):
    admin = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])
    tech = actor_for_user(world.a.staff[Role.TECHNICIAN])
    order = f.resident_order(world.a)
    services.workorder_assign(actor=admin, order=order, assignee=world.a.staff[Role.TECHNICIAN])
    services.workorder_accept(actor=tech, order=order)
    services.workorder_start(actor=tech, order=order)
    return order, admin, tech


def test_charges_become_one_bill_on_completion(world):
    order, admin, tech = _private_in_progress(world)
    services.workorder_add_charge(
        actor=tech, order=order, kind="parts", description="角阀", unit_price_fen=1850, quantity=2
    )
    services.workorder_add_charge(
        actor=admin, order=order, kind="labour", description="上门维修", unit_price_fen=3000
    )
    services.workorder_finish(actor=tech, order=order)
    order.refresh_from_db()
    bill = Bill.objects.get(source_type="workorder", source_id=str(order.pk))
    assert (bill.room_id, bill.amount_fen, order.billed_bill_id) == (world.a.rooms[0].pk, 6700, bill.pk)
    assert order.events.filter(kind=EventKind.BILLED).count() == 1
    # reopened and finished again: no second bill, and no new charges after billing
    services.workorder_reopen(actor=admin, order=order, reason="仍然漏水")
    with pytest.raises(Conflict):
        services.workorder_add_charge(
            actor=tech, order=order, kind="parts", description="x", unit_price_fen=100
        )
    services.workorder_accept(actor=tech, order=order)
    services.workorder_start(actor=tech, order=order)
    services.workorder_finish(actor=tech, order=order)
    assert Bill.objects.filter(source_type="workorder").count() == 1
    assert WorkOrder.objects.get(pk=order.pk).state == State.DONE


def test_no_charges_no_bill(world):
    order, _admin, tech = _private_in_progress(world)
    services.workorder_finish(actor=tech, order=order)
    assert not Bill.objects.filter(source_type="workorder").exists()
