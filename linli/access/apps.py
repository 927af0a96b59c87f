from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "linli.access"
    label = "access"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "出入管理"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from linli.access.insights import anomalies
        from linli.access.models import AccessPolicy, AccessSettings, Holiday
        from linli.access.points import policy
        from linli.people.signals import person_moved_out

        person_moved_out.connect(_moved_out, dispatch_uid="access.moved_out")
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


def _moved_out(sender, person, actor=None, **kwargs) -> None:
    """Moving out ends biometric access at once (R28) and revokes the person's credentials there."""
    from linli.access.biometrics import services as biometrics
    from linli.access.credentials import services as credentials

    biometrics.on_person_moved_out(person, actor=actor)
    credentials.credentials_revoke_for_person(person=person)
