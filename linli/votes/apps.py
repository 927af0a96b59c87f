from django.apps import AppConfig


class VotesConfig(AppConfig):
    name = "linli.votes"
    label = "votes"
    default_auto_field = "django.db.models.BigAutoField"
