"""clean_image: one rule set for uploaded photos (caps are 413, anything unreadable is 400, EXIF goes)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from linli.core.errors import PayloadTooLarge, ValidationFailed
from linli.core.images import clean_image


def image_bytes(fmt: str = "PNG", size=(40, 30), *, exif: bool = False) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, (200, 80, 40))
    options = {}
    if exif:
        info = Image.Exif()
        info[0x010F] = "LeakyPhone"  # Make
        info[0x0132] = "2026:10:01 08:00:00"  # DateTime
        options["exif"] = info.tobytes()
    image.save(out, format=fmt, **options)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_the_three_formats_are_reencoded_in_their_own_format(fmt, content_type):
    clean = clean_image(image_bytes(fmt))

    assert (clean.content_type, clean.width, clean.height) == (content_type, 40, 30)
    assert Image.open(io.BytesIO(clean.data)).format == fmt


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_exif_is_stripped(fmt):
    raw = image_bytes(fmt, exif=True)
    assert b"LeakyPhone" in raw

    clean = clean_image(raw)

    assert b"LeakyPhone" not in clean.data
    assert dict(Image.open(io.BytesIO(clean.data)).getexif()) == {}


def test_an_uploaded_file_is_read_like_bytes():
    clean = clean_image(SimpleUploadedFile("p.png", image_bytes()), field="photos")

    assert (clean.extension, clean.width) == ("png", 40)


def test_too_many_bytes_is_413(settings):
    settings.UPLOAD_IMAGE_MAX_BYTES = 100

    with pytest.raises(PayloadTooLarge):
        clean_image(image_bytes(size=(200, 200)))


def test_an_upload_announcing_too_many_bytes_is_413_before_reading(settings):
    settings.UPLOAD_IMAGE_MAX_BYTES = 100
    upload = SimpleUploadedFile("p.png", image_bytes(size=(200, 200)))

    with pytest.raises(PayloadTooLarge):
        clean_image(upload)


def test_too_many_pixels_is_413(settings):
    settings.UPLOAD_IMAGE_MAX_PIXELS = 1000

    with pytest.raises(PayloadTooLarge):
        clean_image(image_bytes(size=(40, 30)))  # 1200 pixels


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image",
        b"GIF89a" + b"\x00" * 20,
        image_bytes("GIF"),
        image_bytes("BMP"),
        image_bytes("JPEG")[:60],
    ],
)
def test_anything_else_unreadable_is_400_on_the_field(data):
    with pytest.raises(ValidationFailed) as exc:
        clean_image(data, field="photos")

    assert list(exc.value.fields) == ["photos"]
