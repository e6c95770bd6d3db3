from django.contrib import admin

from ceres.slack.models import CommunityChannel, ReactionCommand


@admin.register(CommunityChannel)
class CommunityChannelAdmin(admin.ModelAdmin[CommunityChannel]):
    list_display = ("channel_id", "name", "created_at")
    search_fields = ("channel_id", "name")


@admin.register(ReactionCommand)
class ReactionCommandAdmin(admin.ModelAdmin[ReactionCommand]):
    list_display = ("reaction", "command")
