"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against pytest-django's live server."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

CHROMIUM = os.environ.get("LINLI_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}
DESKTOP = {"viewport": {"width": 1366, "height": 860}, "locale": "zh-CN"}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread while the ORM calls of fixtures stay
    # synchronous, so Django's async-safety guard is relaxed for the browser tests only (package scope:
    # restored before any later test spawns a subprocess).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: ./dev test installs Debian's chromium package")
    profile = tempfile.mkdtemp(prefix="linli-chromium-")
    with sync_playwright() as p:
        # Playwright gives each context a fresh profile; the temp dir keeps Chromium's own state apart.
        b = p.chromium.launch(
            executable_path=CHROMIUM, args=ARGS, headless=True, env={**os.environ, "HOME": profile}
        )
        yield b
        b.close()
    shutil.rmtree(profile, ignore_errors=True)
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def desktop(browser):
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def resident_sign_in(page, live_server, person) -> None:
    """Sign a resident in on the H5 login page with the code the in-memory SMS sender received."""
    import re

    from linli.accounts.sms import MemorySmsSender

    page.goto(f"{live_server.url}/h5/login/")
    page.fill("#id_phone", person.phone)
    page.click("button[type=submit]")
    message = next(m for m in reversed(MemorySmsSender.outbox) if m.phone == person.phone)
    page.fill("#id_code", re.search(r"\b(\d{6})\b", message.message).group(1))
    page.click("button[type=submit] >> text=登录")
    page.wait_for_url(re.compile(r"/h5/$"))


@pytest.fixture
def sms_memory(settings):
    from linli.accounts.sms import MemorySmsSender

    settings.SMS_BACKEND = "linli.accounts.sms.MemorySmsSender"
    MemorySmsSender.outbox.clear()
    yield MemorySmsSender.outbox
    MemorySmsSender.outbox.clear()
