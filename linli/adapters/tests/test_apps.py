"""At start-up every adapter is declared to the devices app (``devices.vendors``, ADR 0009)."""

from linli.adapters import registry
from linli.adapters.hikvision import adapter as hikvision
from linli.devices import vendors


def test_every_manifest_is_declared_to_devices_with_its_command_functions():
    declared = {key: vendors.get(key) for key in vendors.adapter_keys()}

    assert sorted(declared) == registry.keys()
    assert [k for k, v in declared.items() if v.render_command is not None] == ["hikvision"]
    assert (declared["hikvision"].render_command, declared["hikvision"].ack_outcome) == (
        hikvision.render_command,
        hikvision.ack_outcome,
    )
    assert declared["dahua"].name == registry.manifests()["dahua"].name
