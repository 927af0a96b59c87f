"""Vendor adapters: one self-contained folder per vendor or cloud (manifest.toml, pure codec.py, thin
adapter.py, fixtures/ of captured payloads). Codecs turn vendor payloads into canonical ``Message``
objects whose ``device_key`` is the *vendor id* (IMEI, cloud device id, serial); ``adapter.py`` maps
vendor ids to registered devices (``Device.adapter`` + ``Device.vendor_id``) and calls ``ingest``.
The core never imports a vendor module by name: ``registry`` discovers the folders.
"""
