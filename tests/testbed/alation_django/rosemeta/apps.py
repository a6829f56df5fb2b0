from django.apps import AppConfig


class RosemetaConfig(AppConfig):
    name = "rosemeta"
    verbose_name = "Alation catalog metadata (simulated)"
