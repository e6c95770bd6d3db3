from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "ceres.conversations"
    label = "conversations"
    verbose_name = "Conversations"
