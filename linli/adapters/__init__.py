"""Vendor adapters: a layer above ``devices``, ``access`` and ``parking`` (ADR 0009). Adapters import
those apps' canonical vocabulary (``linli.devices.canonical``, ``linli.devices.events``, ingest);
nothing below imports an adapter.

One self-contained folder per vendor or cloud: ``manifest.toml`` (key, name, protocol, mode, owners,
and the HTTP push ``[[routes]]`` that ``routes`` mounts), a pure ``codec.py`` (vendor payload in,
canonical ``Message`` / ``VendorAccessEvent`` / ``PlateRead`` out; ``device_key`` is the *vendor id*:
IMEI, cloud device id, serial), a thin ``adapter.py`` (vendor ids → registered devices, then
``ingest`` or the ``devices.events`` announcements), ``fixtures/`` of captured payloads replayed by
``tests/``. ``registry`` discovers the folders; ``linli check_adapters`` validates them.
"""
