# The adapters' tests ingest like the devices app's: each starts from the database's truth.
from linli.devices.tests.conftest import _fresh_device_cache  # noqa: F401
