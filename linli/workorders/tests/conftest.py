"""Fixtures for the workorders tests: actors, a second technician, photos in memory, media in tmp."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.orgs.tests import factories as orgs_f


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }


@pytest.fixture
def actor_of():
    return actor_for_user


@pytest.fixture
def tech2(world):
    """A second technician of estate a."""
    return orgs_f.staff(role=Role.TECHNICIAN, scope=[world.a.estate], username="tech2_a")


def image_bytes(fmt: str = "JPEG", size=(40, 30), exif_gps: bool = False) -> bytes:
    img = Image.new("RGB", size, (200, 80, 40))
    buf = io.BytesIO()
    kwargs = {}
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0)}  # GPSInfo
        kwargs["exif"] = exif.tobytes()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()
