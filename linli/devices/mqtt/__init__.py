"""The MQTT side of device ingestion: the ``linli gateway`` subscriber, the embedded demo broker and
the Mosquitto helpers. Vendor formats live in ``linli.adapters``; this package only speaks the
canonical protocol (``linli.devices.canonical``)."""
