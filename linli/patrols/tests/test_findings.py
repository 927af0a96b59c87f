"""Findings: photo validation (type, size and pixels → 413, EXIF stripped) and the work order created."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from linli.core.errors import NotFound, PayloadTooLarge, ValidationFailed
from linli.core.images import clean_image
from linli.orgs.selectors import actor_for_user
from linli.patrols import services
from linli.patrols.models import Finding, FindingPhoto
from linli.patrols.tests import factories as f


def upload(data: bytes, name: str = "p.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_photos_of_the_three_formats_are_accepted_and_reencoded(fmt, content_type):
    photo = clean_image(upload(f.image_bytes(fmt, size=(40, 30))))

    assert (photo.content_type, photo.width, photo.height) == (content_type, 40, 30)
    assert Image.open(io.BytesIO(photo.data)).format == fmt


def test_exif_is_stripped():
    raw = f.image_bytes("JPEG", exif=True)
    assert b"LeakyPhone" in raw

    photo = clean_image(upload(raw))

    assert b"LeakyPhone" not in photo.data
    assert dict(Image.open(io.BytesIO(photo.data)).getexif()) == {}


def test_data_appended_after_the_image_is_dropped():
    photo = clean_image(upload(f.image_bytes("PNG") + b"<script>alert(1)</script>", name="p.png"))

    assert b"<script>" not in photo.data


def test_too_large_file_is_413(settings):
    settings.UPLOAD_IMAGE_MAX_BYTES = 100
    with pytest.raises(PayloadTooLarge):
        clean_image(upload(f.image_bytes("PNG", size=(200, 200))))


def test_too_many_pixels_is_413(settings):
    settings.UPLOAD_IMAGE_MAX_PIXELS = 1000
    with pytest.raises(PayloadTooLarge):
        clean_image(upload(f.image_bytes("PNG", size=(40, 30))))  # 1200 pixels


@pytest.mark.parametrize(
    "data",
    [b"not an image", b"", b"GIF89a" + b"\x00" * 20],
)
def test_non_images_are_400(data):
    with pytest.raises(ValidationFailed):
        clean_image(upload(data))


def test_gif_is_refused():
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, format="GIF")
    with pytest.raises(ValidationFailed):
        clean_image(upload(buf.getvalue(), name="a.gif"))


def test_truncated_jpeg_is_400():
    with pytest.raises(ValidationFailed):
        clean_image(upload(f.image_bytes("JPEG", size=(200, 200))[:300]))


def test_finding_creates_a_common_area_repair_work_order_with_the_photos(patrol):
    from linli.workorders.models import WorkOrder

    guard = actor_for_user(patrol.guard)

    finding = services.finding_report(
        actor=guard,
        run=patrol.run,
        checkpoint=patrol.cps[1],
        description="消防通道被占用",
        photos=[upload(f.image_bytes("JPEG", exif=True))],
    )

    order = WorkOrder.objects.get(pk=finding.workorder_id)
    assert (order.estate_id, order.kind, order.source, order.source_ref) == (
        patrol.run.estate_id,
        "repair_common",
        "patrol",
        f"finding:{finding.pk}",
    )
    assert order.title == "巡检发现：消防通道被占用"
    assert order.location == "日常巡逻 · 位置2"
    assert order.photos.count() == 1
    photo = FindingPhoto.objects.get(finding=finding)
    with photo.file.open("rb") as fh:
        assert b"LeakyPhone" not in fh.read()


def test_finding_with_a_bad_photo_creates_nothing(patrol):
    from linli.workorders.models import WorkOrder

    with pytest.raises(ValidationFailed):
        services.finding_report(
            actor=actor_for_user(patrol.guard), run=patrol.run, description="x", photos=[upload(b"junk")]
        )
    assert (Finding.objects.count(), WorkOrder.objects.count()) == (0, 0)


def test_finding_on_a_run_of_another_estate_is_404_and_checkpoint_must_be_on_the_route(patrol):
    guard = actor_for_user(patrol.guard)
    with pytest.raises(NotFound):
        services.finding_report(actor=guard, run=patrol.b_run, description="x")
    with pytest.raises(ValidationFailed):
        services.finding_report(actor=guard, run=patrol.run, checkpoint=patrol.b_cps[0], description="x")


def test_too_many_photos_is_400(patrol):
    photos = [upload(f.image_bytes()) for _ in range(7)]
    with pytest.raises(ValidationFailed):
        services.finding_report(
            actor=actor_for_user(patrol.guard), run=patrol.run, description="x", photos=photos
        )
