from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "linli.access"
    label = "access"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "出入管理"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from linli.access import subscribers
        from linli.access.insights import anomalies
        from linli.access.models import AccessPolicy, AccessSettings, Holiday
        from linli.access.points import policy
        from linli.core import events
        from linli.devices.events import AccessEventsReported
        from linli.people.events import PersonMovedOut
        from linli.privacy.events import ConsentWithdrawn

        events.subscribe(PersonMovedOut, subscribers.on_person_moved_out)
        events.subscribe(ConsentWithdrawn, subscribers.on_consent_withdrawn)
        events.subscribe(AccessEventsReported, subscribers.on_access_events_reported)
        # Cached policies, holidays and settings of the decision path: forget them on any change.
        for model in (AccessPolicy, Holiday):
            post_save.connect(
                policy.reset_shared_cache, sender=model, dispatch_uid=f"access.rules.{model.__name__}"
            )
            post_delete.connect(
                policy.reset_shared_cache, sender=model, dispatch_uid=f"access.rules-d.{model.__name__}"
            )
        m2m_changed.connect(
            policy.reset_shared_cache,
            sender=AccessPolicy.access_points.through,
            dispatch_uid="access.rules.m2m",
        )
        post_save.connect(
            anomalies.reset_settings_cache, sender=AccessSettings, dispatch_uid="access.settings"
        )
