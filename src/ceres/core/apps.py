from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ceres.core"
    label = "core"
    verbose_name = "Ceres core"

    def ready(self) -> None:
        # The kernel's own outbox channel and its configuration checks; domain apps register
        # theirs (channels, inbox handlers) from their own ready().
        from ceres.core import checks  # noqa: F401 - registers the checks
        from ceres.core.outbox.channels import register_channel
        from ceres.core.outbox.email_channel import send_email, validate_email_payload

        register_channel("email", send_email, validate=validate_email_payload)

        # `<id:...>` in the apps' URL patterns (RecordIdConverter): registered before any
        # URLconf is imported.
        from django.urls import register_converter

        from ceres.core.web import RecordIdConverter

        register_converter(RecordIdConverter, "id")
