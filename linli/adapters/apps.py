from django.apps import AppConfig


class AdaptersConfig(AppConfig):
    """Vendor adapters (ADR 0009): no models; declares each adapter to the devices app."""

    name = "linli.adapters"
    label = "adapters"
    verbose_name = "设备接入适配器"

    def ready(self) -> None:
        from linli.adapters import registry
        from linli.devices import vendors

        for manifest in registry.manifests().values():
            module = registry.adapter(manifest.key)
            vendors.declare(
                vendors.VendorAdapter(
                    key=manifest.key,
                    name=manifest.name,
                    render_command=getattr(module, "render_command", None),
                    ack_outcome=getattr(module, "ack_outcome", None),
                )
            )
