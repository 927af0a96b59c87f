import pytest

from linli.devices import ingest


@pytest.fixture(autouse=True)
def _fresh_device_cache():
    # The device cache lives for the process; each test starts from the database's truth.
    ingest.cache.clear()
    yield
    ingest.cache.clear()
