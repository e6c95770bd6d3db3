"""Slack settings: whether the app is set up, which channels Ceres listens to, and what
reactions do. Reading needs the inbox permission; adding or removing a community channel needs
`slack.add_communitychannel` / `slack.delete_communitychannel`."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib import messages
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ceres.accounts.models import Account
from ceres.core.errors import CeresError
from ceres.core.inbox.models import InboundEvent
from ceres.core.web import HtmxHttpRequest, require, ui_view, viewer
from ceres.slack import services
from ceres.slack.models import CommunityChannel, ReactionCommand

VIEW = "conversations.view_conversation"
CUSTOMER_CHANNELS_SHOWN = 25


@require_http_methods(["GET", "POST"])
@ui_view
def slack_settings(request: HtmxHttpRequest) -> HttpResponse:
    require(request, VIEW)
    error, status = None, 200
    if request.method == "POST":
        require(request, "slack.add_communitychannel")
        try:
            channel = services.add_community_channel(
                actor=viewer(request),
                channel_id=request.POST.get("channel_id", "")[:40],
                name=request.POST.get("name", "")[:200],
            )
        except CeresError as exc:
            error, status = exc, exc.status_code
        else:
            messages.success(request, f"{channel} is now a community channel.")
            return redirect("slack_settings:settings")
    context = {
        "signing_secret_set": bool(settings.CERES_SLACK_SIGNING_SECRET),
        "bot_token_set": bool(settings.CERES_SLACK_BOT_TOKEN),
        "events_url": settings.BASE_URL.rstrip("/") + "/integrations/slack/events",
        "interactivity_url": settings.BASE_URL.rstrip("/") + "/integrations/slack/interactivity",
        "customer_channels": list(
            Account.objects.exclude(slack_channel_id="")
            .select_related("codename")
            .order_by("codename__name")[:CUSTOMER_CHANNELS_SHOWN]
        ),
        "customer_channel_count": Account.objects.exclude(slack_channel_id="").count(),
        "community_channels": CommunityChannel.objects.all(),
        "reactions": ReactionCommand.objects.all(),
        "commands": ReactionCommand.Command.choices,
        "events": _event_counts(),
        "error": error,
        "posted": request.POST if error else {},
    }
    return render(request, "slack/settings.html", context, status=status)


def _event_counts() -> list[dict[str, object]]:
    """What Slack sent in the last 7 days, by type and outcome: ignored types are counted."""
    since = timezone.now() - datetime.timedelta(days=7)
    return list(
        InboundEvent.objects.filter(provider="slack", received_at__gte=since)
        .values("event_type", "status")
        .annotate(count=Count("id"))
        .order_by("-count", "event_type")[:30]
    )


@require_POST
@ui_view
def reaction_save(request: HtmxHttpRequest) -> HttpResponse:
    require(request, "slack.change_reactioncommand")
    services.save_reaction_command(
        actor=viewer(request),
        reaction=request.POST.get("reaction", "")[:120],
        command=request.POST.get("command", "")[:40],
    )
    messages.success(request, "Reaction saved.")
    return redirect("slack_settings:settings")


@require_POST
@ui_view
def reaction_remove(request: HtmxHttpRequest, reaction: str) -> HttpResponse:
    require(request, "slack.delete_reactioncommand")
    services.remove_reaction_command(actor=viewer(request), reaction=reaction)
    messages.success(request, "Reaction removed.")
    return redirect("slack_settings:settings")


@require_POST
@ui_view
def community_channel_remove(request: HtmxHttpRequest, channel_id: str) -> HttpResponse:
    require(request, "slack.delete_communitychannel")
    services.remove_community_channel(actor=viewer(request), channel_id=channel_id)
    messages.success(request, "Community channel removed: its new messages are ignored.")
    return redirect("slack_settings:settings")
