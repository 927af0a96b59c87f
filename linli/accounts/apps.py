from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "linli.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from linli.accounts.checks import check_default_accounts

        checks.register(check_default_accounts, checks.Tags.security, checks.Tags.database)
