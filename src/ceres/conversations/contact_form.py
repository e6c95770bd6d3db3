"""The public "Contact us" form: its categories, its rules, its spam defences, and the answer to
a job application (handbook: "Respond to a 'Contact us' job application submission").

Every rule is enforced here, not in the page: the page's script only hides a field, and a post
made without it gets the same answers. A submission is checked whole (every field's problem at
once, so the visitor fixes them in one go), then the honeypot, then the rate limit; only a
submission that passes all three writes anything (the counters and the conversation, in one
transaction). See docs/contact-form.md.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ceres.conversations import services
from ceres.conversations.models import ContactFormCounter, Conversation, Message, SavedReply
from ceres.core.audit.services import Actor
from ceres.core.errors import BadRequest, CeresError, Conflict, Invalid
from ceres.team import selectors as team_selectors

log = logging.getLogger(__name__)

JOB_APPLICATION = "job-application"
JOB_APPLICATION_SAVED_REPLY = "applying-for-open-position"
HONEYPOT_FIELD = "homepage"  # a name browsers do not autofill; people never see the input
RATE_WINDOW = datetime.timedelta(hours=1)
MAX_NAME = 200
MAX_EMAIL = 254
MAX_POSITION_TITLE = 200


@dataclass(frozen=True)
class Category:
    key: str  # the conversation's category, matched by SLA policies
    label: str
    hint: str
    needs_position_title: bool = False


CATEGORIES = (
    Category("support", "Support question", "Help with the product you use"),
    Category("sales", "Sales / pricing", "Plans, quotes and licences"),
    Category(
        JOB_APPLICATION,
        "Applying for an open position",
        "Tell us which role you are applying for",
        needs_position_title=True,
    ),
    Category("other", "Other", "Anything else"),
)
_CATEGORY = {c.key: c for c in CATEGORIES}


class SubmissionInvalid(BadRequest):
    """Some fields are missing or malformed: `errors` maps each field to what to fix."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field)
        self.errors = dict(errors)


class SpamRejected(BadRequest):
    code = "rejected"


class RateLimited(CeresError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Submission:
    category: Category
    name: str
    email: str
    message: str
    position_title: str = ""

    @property
    def subject(self) -> str:
        if self.category.needs_position_title:
            return f"Application: {self.position_title}"
        first_line = next(line.strip() for line in self.message.splitlines() if line.strip())
        return first_line if len(first_line) <= 120 else first_line[:119].rstrip() + "…"


def _clean(value: object) -> str:
    return str(value or "").replace("\x00", "").strip()


def check_submission(
    *, category: str, name: str, email: str, message: str, position_title: str = ""
) -> Submission:
    """The submission as it will be stored, or SubmissionInvalid listing every problem."""
    errors: dict[str, str] = {}
    chosen = _CATEGORY.get(_clean(category))
    if chosen is None:
        errors["category"] = "Please choose what your message is about."
    name = " ".join(_clean(name).split())
    if not name:
        errors["name"] = "Please tell us your name."
    elif len(name) > MAX_NAME:
        errors["name"] = f"Please keep your name under {MAX_NAME} characters."
    email = _clean(email).lower()
    if not email:
        errors["email"] = "Please give an e-mail address, so that we can answer you."
    else:
        try:
            if len(email) > MAX_EMAIL:
                raise DjangoValidationError("too long")
            validate_email(email)
        except DjangoValidationError:
            errors["email"] = "This is not an e-mail address (it should look like you@example.com)."
    position_title = " ".join(_clean(position_title).split())
    if chosen is not None and chosen.needs_position_title:
        if not position_title:
            errors["position_title"] = "Please give the title of the position you are applying for."
        elif len(position_title) > MAX_POSITION_TITLE:
            errors["position_title"] = (
                f"Please keep the position title under {MAX_POSITION_TITLE} characters."
            )
    else:
        position_title = ""  # left over from a category the visitor first picked
    message = _clean(message)
    if not message:
        errors["message"] = "Please write your message."
    elif len(message) > services.MAX_BODY:
        errors["message"] = (
            f"Your message is {len(message):,} characters long; the limit is "
            f"{services.MAX_BODY:,}. Please shorten it."
        )
    if errors or chosen is None:
        raise SubmissionInvalid(errors)
    return Submission(chosen, name, email, message, position_title)


# --- the rate limit --------------------------------------------------------------------------


def sender_network(client_ip: str) -> str:
    """The address the limit counts: the IPv4 address, or the IPv6 /64 (one host often holds
    a whole /64, so counting single IPv6 addresses would not limit it)."""
    try:
        address = ipaddress.ip_address(client_ip.strip())
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def _counter_key(kind: str, value: str) -> str:
    # An HMAC, so the table never holds a visitor's address in clear.
    digest = salted_hmac("ceres.contact_form.rate_limit", value, algorithm="sha256").hexdigest()
    return f"{kind}:{digest[:64]}"


def _count_submission(key: str, now: datetime.datetime) -> tuple[int, datetime.datetime]:
    """One more submission for `key`: (the count in the current window, its start).

    One conditional UPDATE increments the count, or starts a new window when the old one has
    passed; it takes the row's lock until the caller's transaction ends, so concurrent posts
    from one sender are counted one after the other on every web worker."""
    counter = ContactFormCounter.objects.filter(key=key)
    current = Q(window_start__gt=now - RATE_WINDOW)
    bump = {
        "count": Case(When(current, then=F("count") + 1), default=Value(1)),
        "window_start": Case(When(current, then=F("window_start")), default=Value(now)),
    }
    if not counter.update(**bump):
        try:
            with transaction.atomic():
                ContactFormCounter.objects.create(key=key, window_start=now, count=1)
        except IntegrityError:  # another post from the same sender created it first
            counter.update(**bump)
    count, window_start = counter.values_list("count", "window_start").get()
    return count, window_start


def _check_rate_limit(*, email: str, client_ip: str, now: datetime.datetime) -> None:
    # Always the e-mail counter first, then the address: one lock order, no deadlocks.
    limits = [(_counter_key("email", email), settings.CERES_CONTACT_RATE_LIMIT)]
    network = sender_network(client_ip)
    if network:
        limits.append((_counter_key("ip", network), settings.CERES_CONTACT_RATE_LIMIT_PER_IP))
    for key, limit in limits:
        if limit <= 0:
            continue  # 0 turns this limit off
        count, window_start = _count_submission(key, now)
        if count > limit:
            wait = math.ceil((window_start + RATE_WINDOW - now).total_seconds())
            minutes = max(1, math.ceil(wait / 60))
            raise RateLimited(
                "You have sent several messages in the last hour, so this one was not sent. "
                f"Please try again in {minutes} minute{'s' if minutes != 1 else ''}.",
                retry_after=max(1, wait),
            )


def forget_old_counters(*, now: datetime.datetime | None = None) -> int:
    """Delete counters whose window has passed (a periodic job); returns how many."""
    cutoff = (now or timezone.now()) - RATE_WINDOW
    deleted, _ = ContactFormCounter.objects.filter(window_start__lte=cutoff).delete()
    return deleted


# --- submitting ------------------------------------------------------------------------------


@transaction.atomic
def submit_contact_form(
    *,
    category: str,
    name: str,
    email: str,
    message: str,
    position_title: str = "",
    honeypot: str = "",
    client_ip: str = "",
    received_at: datetime.datetime | None = None,
) -> Conversation:
    """A visitor's post becomes a conversation with its first message (and its SLA clocks).

    Raises SubmissionInvalid (400, every field's problem), SpamRejected (400: the honeypot was
    filled) or RateLimited (429); in each case nothing is written. `received_at` is for
    imports and tests; the rate limit always counts in real time.
    """
    submission = check_submission(
        category=category,
        name=name,
        email=email,
        message=message,
        position_title=position_title,
    )
    if _clean(honeypot):
        log.info("contact form: honeypot filled; submission dropped")
        raise SpamRejected(
            "Your message was not sent because it looked automated. If you are a person, "
            "please reload the page and send it again."
        )
    _check_rate_limit(email=submission.email, client_ip=client_ip, now=timezone.now())
    return services.open_conversation(
        actor=None,
        source=Conversation.Source.CONTACT_FORM,
        category=submission.category.key,
        subject=submission.subject,
        body=submission.message,
        requester_name=submission.name,
        requester_email=submission.email,
        fields={"position_title": submission.position_title} if submission.position_title else {},
        received_at=received_at,
    )


# --- answering a job application -------------------------------------------------------------


@transaction.atomic
def reply_to_job_application(
    *,
    actor: Actor,
    conversation: Conversation,
    variables: Mapping[str, str] | None = None,
) -> Message:
    """The handbook's answer to a job application, in one step: the saved reply "Applying for
    open position" (position title filled in) e-mailed to the applicant with the people
    configured as Interim Head of People in CC, then the conversation closed with a copy of
    the response as its closure note. Everything is checked before anything is written."""
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if locked.category != JOB_APPLICATION:
        raise Invalid(
            f"is {locked.category!r}; this reply is for job applications ({JOB_APPLICATION!r})",
            field="category",
        )
    if locked.source not in (Conversation.Source.CONTACT_FORM, Conversation.Source.EMAIL):
        raise Invalid(
            f"is {locked.source!r}; the answer to an application goes by e-mail, so the "
            "conversation must come from the contact form or e-mail",
            field="source",
        )
    if locked.is_closed:
        raise Conflict("the conversation is closed: the application was answered", field="status")
    saved = SavedReply.objects.filter(key=JOB_APPLICATION_SAVED_REPLY).first()
    if saved is None:
        raise Invalid(
            f'no saved reply {JOB_APPLICATION_SAVED_REPLY!r} ("Applying for open position"); '
            "add it under saved replies",
            field="saved_reply",
        )
    body = services.render_saved_reply(saved_reply=saved, conversation=locked, variables=variables)
    subject = services.render_template(saved.subject, conversation=locked, variables=variables)
    role = settings.CERES_JOB_APPLICATION_CC_ROLE
    cc = sorted({p.email for p in team_selectors.people(role=role, active_only=True) if p.email})
    if not cc:
        raise Invalid(
            f"nobody active has the role {role!r} (the Interim Head of People, set by "
            "CERES_JOB_APPLICATION_CC_ROLE) to copy on the answer; add the person in Team",
            field="cc",
        )
    message = services.reply(
        actor=actor, conversation=locked, body=body, cc=cc, subject=" ".join(subject.split())
    )
    services.update_conversation(
        actor=actor, conversation=locked, status="closed", closure_note_from_last_reply=True
    )
    conversation.refresh_from_db()
    return message
