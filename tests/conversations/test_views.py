"""The inbox, the conversation page and an account's status page, through the HTML client."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from ceres.accounts.models import Account
from ceres.conversations import inbox_views, selectors, services
from ceres.conversations.models import Conversation, Message, SavedReply, Tag
from ceres.core.outbox.models import OutboxMessage
from ceres.sla import services as sla_services
from ceres.sla.models import SlaClock, SlaPolicy
from ceres.team.models import Person

HOUR = 3600
HTMX = {"HTTP_HX_REQUEST": "true"}
# What a viewer without accounts.view_confidential must never read about Acme's conversation.
SECRETS = ("Acme Robotics", "Wile Coyote", "wile@acme-robotics.example", "Wile", "Coyote")


def leaks(html: str) -> list[str]:
    return [s for s in SECRETS if s in html or (" " in s and s.lower() in html.lower())]


def title_of(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match, "the page has no <title>"
    return " ".join(match.group(1).split())


def results(url: str = "http://testserver/inbox/") -> dict[str, str]:
    return {**HTMX, "HTTP_HX_TARGET": "inbox-results", "HTTP_HX_CURRENT_URL": url}


def as_user(client: Client, person: Person) -> Client:
    client.force_login(person.user)
    return client


def row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr class="inbox-row[^"]*" data-id="(\d+)"', html)]


def tab_count(html: str, queue: str) -> int:
    match = re.search(rf'data-queue="{queue}"[^>]*>[^<]*<span class="count">(\d+)</span>', html)
    assert match, f"no count on the {queue} tab"
    return int(match.group(1))


@pytest.fixture
def policies(db: None) -> dict[str, SlaPolicy]:
    """Elapsed-time targets (deadlines do not depend on today's business hours), and the
    handbook's job-application target in business hours."""
    sla_services.save_calendar(
        actor=None,
        key="support",
        spec={
            "timezone": "America/Chicago",
            "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        },
    )
    rules = [
        (
            "premium",
            {"tier": ["premium"]},
            {
                "first_response": [{"within_seconds": HOUR}],
                "next_response": [{"within_seconds": 4 * HOUR}],
                "resolution": [{"within_seconds": 72 * HOUR}],
            },
        ),
        (
            "job-application",
            {"category": ["job-application"]},
            {
                "first_response": [
                    {"within_seconds": 4 * HOUR, "clock": "business", "calendar": "support"}
                ]
            },
        ),
        ("default", {}, {"first_response": [{"within_seconds": 8 * HOUR}]}),
    ]
    return {
        key: sla_services.save_policy(
            actor=None, key=key, position=10 * (i + 1), match=match, targets=targets
        )
        for i, (key, match, targets) in enumerate(rules)
    }


@pytest.fixture
def nia(make_person: Callable[..., Person]) -> Person:
    """A support engineer still in onboarding: works the inbox by codename only."""
    return make_person(
        "cse",
        name="Nia Novak",
        email="nia@example.com",
        username="nia",
        withheld_permissions=["accounts.view_confidential"],
    )


@pytest.fixture
def thread(policies: dict[str, SlaPolicy], acme: Account) -> Conversation:
    """Acme's Slack thread, received now: a 1-hour first-response clock runs."""
    return services.open_conversation(
        actor=None,
        source="slack",
        subject="Hosts offline after upgrade",
        body="All hosts went offline after the upgrade. Wile Coyote, Acme Robotics.",
        account=acme,
        requester_name="Wile Coyote",
        requester_email="wile@acme-robotics.example",
        slack_channel_id="C0ACME",
        slack_thread_ts="1700000000.000100",
        priority="P1",
    )


@pytest.fixture
def application(policies: dict[str, SlaPolicy]) -> Conversation:
    return services.open_conversation(
        actor=None,
        source="contact_form",
        category="job-application",
        subject="Application: Solutions Architect",
        body="I would like to apply.",
        requester_name="Jo Applicant",
        requester_email="jo@applicant.example",
        fields={"position_title": "Solutions Architect"},
    )


@pytest.fixture
def community(policies: dict[str, SlaPolicy]) -> Conversation:
    return services.open_conversation(
        actor=None,
        source="email",
        subject="Question about osquery tables",
        body="Which table lists USB devices?",
        requester_name="Casey Community",
        requester_email="casey@community.example",
        priority="P3",
    )


@pytest.fixture
def position_reply(db: None) -> SavedReply:
    return services.save_saved_reply(
        actor=None,
        key="applying-for-open-position",
        name="Applying for open position",
        subject="Your application for {{position_title}}",
        body="Hi {{requester_name}}, thanks for applying for the {{position_title}} role.",
        category="job-application",
    )


@pytest.fixture
def greeting(db: None) -> SavedReply:
    return services.save_saved_reply(
        actor=None,
        key="greeting",
        name="Greeting",
        body="Hi {{requester_name}}, we are on it. Next update by {{update_time}}.",
    )


# --- permissions -----------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client: Client) -> None:
    r = client.get("/inbox/")
    assert r.status_code == 302
    assert r["Location"].startswith("/login/?next=/inbox/")


def test_permission_is_checked_before_any_lookup(
    client: Client, engineer: Person, thread: Conversation, acme: Account
) -> None:
    as_user(client, engineer)
    for missing in (thread.pk, 987654):
        assert client.get(f"/inbox/{missing}/").status_code == 403
        assert client.post(f"/inbox/{missing}/messages/", {"body": "x"}).status_code == 403
        assert client.post(f"/inbox/{missing}/update/", {"priority": "P0"}).status_code == 403
        assert client.post(f"/inbox/{missing}/saved-reply/", {}).status_code == 403
    assert client.get("/inbox/").status_code == 403
    assert client.get(f"/accounts/{acme.pk}/status/").status_code == 403
    assert client.get(f"/inbox/accounts/{acme.pk}/card/").status_code == 403
    assert "Inbox</a>" not in client.get("/accounts/").content.decode()
    assert "account-conversations" not in client.get(f"/accounts/{acme.pk}/").content.decode()
    thread.refresh_from_db()
    assert thread.priority == "P1"
    assert thread.messages.count() == 1


def test_reader_without_change_permissions_sees_no_controls(
    client: Client, make_person: Callable[..., Person], thread: Conversation
) -> None:
    from ceres.team import services as team_services

    team_services.save_role(
        actor=None,
        key="reader",
        name="Reader",
        permission_names=["conversations.view_conversation"],
    )
    reader = make_person("reader", name="Rae Reader", email="rae@example.com")
    html = as_user(client, reader).get(f"/inbox/{thread.pk}/").content.decode()
    assert "Hosts offline" in html
    assert 'id="reply-box"' not in html
    assert "Close conversation" not in html
    assert client.post(f"/inbox/{thread.pk}/messages/", {"body": "x"}).status_code == 403
    assert client.post(f"/inbox/{thread.pk}/update/", {"priority": "P0"}).status_code == 403


def test_unknown_conversation_is_404(client: Client, cse: Person) -> None:
    as_user(client, cse)
    assert client.get("/inbox/424242/").status_code == 404
    assert client.get(f"/inbox/{'9' * 30}/").status_code == 404
    assert client.post("/inbox/424242/update/", {"priority": "P0"}).status_code == 404


# --- the inbox -------------------------------------------------------------------------------


def test_queues_and_counts(
    client: Client,
    cse: Person,
    vp: Person,
    thread: Conversation,
    application: Conversation,
    community: Conversation,
) -> None:
    services.update_conversation(actor=None, conversation=application, assignee=cse)
    services.update_conversation(actor=None, conversation=community, assignee=vp)
    closed = services.open_conversation(
        actor=None, source="api", subject="Done already", body="Thanks!", requester_name="X"
    )
    services.update_conversation(
        actor=None, conversation=closed, status="closed", closure_note="Answered."
    )
    as_user(client, cse)
    html = client.get("/inbox/").content.decode()
    assert tab_count(html, "mine") == 1
    assert tab_count(html, "unassigned") == 1
    assert tab_count(html, "breaching_soon") == 1  # the 1-hour clock of Acme's thread
    assert tab_count(html, "all_open") == 3
    assert tab_count(html, "closed") == 1
    assert re.search(r'data-queue="all_open"[^>]*aria-current="page"', html)  # the default
    assert set(row_ids(html)) == {thread.pk, application.pk, community.pk}

    def ids(query: str) -> list[int]:
        return row_ids(client.get(f"/inbox/{query}", **results()).content.decode())

    assert ids("?queue=mine") == [application.pk]
    assert ids("?queue=unassigned") == [thread.pk]
    assert ids("?queue=breaching_soon") == [thread.pk]
    assert ids("?queue=closed") == [closed.pk]
    # The partial swaps the tabs and the queue kept by the filters out of band.
    partial = client.get("/inbox/?queue=mine&source=slack", **results()).content.decode()
    assert "<html" not in partial
    assert 'id="queue-tabs" aria-label="Queues" hx-swap-oob="true"' in partial
    assert 'id="queue-input" value="mine" hx-swap-oob="true"' in partial
    assert tab_count(partial, "all_open") == 1  # counts follow the filters
    bad = client.get("/inbox/?queue=everything")
    assert bad.status_code == 400
    assert "<b>Queue</b>" in bad.content.decode()


def test_breaching_soon_holds_overdue_and_the_next_two_hours(
    client: Client, cse: Person, thread: Conversation, community: Conversation
) -> None:
    now = timezone.now()
    as_user(client, cse)
    assert row_ids(client.get("/inbox/?queue=breaching_soon").content.decode()) == [thread.pk]
    Conversation.objects.filter(pk=community.pk).update(next_due_at=now - datetime.timedelta(1))
    Conversation.objects.filter(pk=thread.pk).update(next_due_at=now + datetime.timedelta(hours=3))
    assert row_ids(client.get("/inbox/?queue=breaching_soon").content.decode()) == [community.pk]
    services.update_conversation(
        actor=None, conversation=community, status="closed", closure_note="Done."
    )
    assert row_ids(client.get("/inbox/?queue=breaching_soon").content.decode()) == []


def test_ordered_by_the_nearest_due_time_with_countdowns(
    client: Client, cse: Person, policies: dict[str, SlaPolicy]
) -> None:
    now = timezone.now()
    made = {
        name: services.open_conversation(
            actor=None, source="api", subject=f"Subject {name}", body="Hello", requester_name="R"
        )
        for name in ("later", "overdue", "none", "soon")
    }
    due = {
        "later": now + datetime.timedelta(hours=3, minutes=10, seconds=30),
        "overdue": now - datetime.timedelta(minutes=5, seconds=10),
        "none": None,
        "soon": now + datetime.timedelta(minutes=42, seconds=30),
    }
    for name, when in due.items():
        Conversation.objects.filter(pk=made[name].pk).update(next_due_at=when)
    html = as_user(client, cse).get("/inbox/").content.decode()
    order = ["overdue", "soon", "later", "none"]
    assert row_ids(html) == [made[name].pk for name in order]
    assert re.search(r'class="countdown overdue"[^>]*data-due="[^"]+"[^>]*>overdue 5m<', html)
    assert re.search(r'class="countdown soon"[^>]*>due in 42m<', html)
    assert re.search(r'class="countdown "[^>]*>due in 3h 10m<', html)
    assert 'title="No running SLA clock"' in html
    assert "is-overdue" in html


def test_filters(
    client: Client,
    cse: Person,
    vp: Person,
    thread: Conversation,
    application: Conversation,
    community: Conversation,
) -> None:
    services.update_conversation(actor=None, conversation=community, assignee=vp)
    as_user(client, cse)

    def ids(query: str) -> set[int]:
        response = client.get(f"/inbox/{query}", **results())
        assert response.status_code == 200, response.content.decode()
        return set(row_ids(response.content.decode()))

    assert ids("?source=slack") == {thread.pk}
    assert ids("?source=contact_form") == {application.pk}
    assert ids("?priority=P1") == {thread.pk}
    assert ids("?category=job-application") == {application.pk}
    assert ids("?account=kamo%60oalewa") == {thread.pk}
    assert ids("?account=Kamooalewa") == {thread.pk}
    assert ids("?assignee=ada") == {community.pk}
    assert ids("?assignee=none") == {thread.pk, application.pk}
    assert ids("?source=email&assignee=ada") == {community.pk}
    assert ids("?source=email&assignee=none") == set()


@pytest.mark.parametrize(
    ("query", "label"),
    [
        ("?source=fax", "Source"),
        ("?priority=P9", "Priority"),
        ("?category=no%20spaces", "Category"),
        ("?account=Nowhere", "Account"),
        ("?assignee=nobody-here", "Assignee"),
        ("?page=abc", "Page"),
        ("?page=0", "Page"),
        ("?q=" + "x" * 300, "Search"),
    ],
)
def test_malformed_filters_answer_400_naming_the_field(
    client: Client, cse: Person, thread: Conversation, query: str, label: str
) -> None:
    r = as_user(client, cse).get(f"/inbox/{query}")
    assert 400 <= r.status_code < 500
    assert f"<b>{label}</b>" in r.content.decode()


def test_search_by_codename_subject_and_id(
    client: Client, cse: Person, thread: Conversation, application: Conversation
) -> None:
    as_user(client, cse)

    def ids(q: str) -> set[int]:
        return set(row_ids(client.get(f"/inbox/?q={q}", **results()).content.decode()))

    assert ids("kamoo") == {thread.pk}
    assert ids("upgrade") == {thread.pk}
    assert ids(f"%23{application.pk}") == {application.pk}
    assert ids(str(thread.pk)) == {thread.pk}
    # With accounts.view_confidential: the real name and the requester too.
    assert ids("Acme") == {thread.pk}
    assert ids("Wile") == {thread.pk}
    assert ids("Applicant") == {application.pk}
    empty = client.get("/inbox/?q=zzzz", **results()).content.decode()
    assert "No conversations match these filters" in empty


def test_codenames_only_sees_no_real_name_or_requester_anywhere(
    client: Client,
    cse: Person,
    nia: Person,
    acme: Account,
    thread: Conversation,
    greeting: SavedReply,
) -> None:
    # The team writes the requester's and the customer's names into the thread.
    body = services.render_saved_reply(
        saved_reply=greeting, conversation=thread, variables={"update_time": "noon"}
    )
    services.reply(actor=cse.user, conversation=thread, body=body)
    services.add_note(actor=cse.user, conversation=thread, body="Acme Robotics is on 4.61.")
    services.update_conversation(
        actor=cse.user, conversation=thread, assignee=cse, tags=["upgrade"]
    )
    as_user(client, nia)
    pages = {
        "inbox": client.get("/inbox/"),
        "inbox partial": client.get("/inbox/", **results()),
        "search by name": client.get("/inbox/?q=Acme", **results()),
        "search by requester": client.get("/inbox/?q=wile", **results()),
        "search by address": client.get("/inbox/?q=acme-robotics", **results()),
        "conversation": client.get(f"/inbox/{thread.pk}/"),
        "status page": client.get(f"/accounts/{acme.pk}/status/"),
        "account card": client.get(f"/inbox/accounts/{acme.pk}/card/", **HTMX),
        "account page": client.get(f"/accounts/{acme.pk}/"),
    }
    for what, response in pages.items():
        html = response.content.decode()
        assert response.status_code == 200, what
        assert leaks(html) == [], (what, leaks(html))
    for what in ("search by name", "search by requester", "search by address"):
        assert row_ids(pages[what].content.decode()) == [], what
    assert row_ids(pages["inbox"].content.decode()) == [thread.pk]
    inbox = pages["inbox"].content.decode()
    assert "Kamo`oalewa" in inbox
    assert "confidential" in inbox
    page = pages["conversation"].content.decode()
    assert title_of(page) == f"#{thread.pk} Hosts offline after upgrade · Ceres"
    assert re.search(r"<h1>.*Hosts offline after upgrade", page, re.S)
    assert "Kamo`oalewa</a>" in page
    assert "confidential requester" in page
    assert "[confidential]" in page  # the names inside the thread are masked
    assert "Internal note" in page
    assert "changed the conversation" in page  # the history is there
    assert title_of(pages["status page"].content.decode()) == "Status · Kamo`oalewa · Ceres"
    # The support engineer with the permission sees them all.
    as_user(client, cse)
    page = client.get(f"/inbox/{thread.pk}/").content.decode()
    assert "Wile Coyote" in page
    assert "Acme Robotics</a>" in page
    assert "Hi Wile Coyote, we are on it" in page
    assert row_ids(client.get("/inbox/?q=Wile", **results()).content.decode()) == [thread.pk]


def test_community_requesters_are_not_confidential(
    client: Client, nia: Person, community: Conversation
) -> None:
    html = as_user(client, nia).get(f"/inbox/{community.pk}/").content.decode()
    assert "Casey Community" in html
    assert "casey@community.example" in html
    ids = row_ids(client.get("/inbox/?q=Casey", **results()).content.decode())
    assert ids == [community.pk]


def test_pagination_50_per_page(client: Client, cse: Person, many: Callable[[int], None]) -> None:
    many(55)
    as_user(client, cse)
    first = client.get("/inbox/").content.decode()
    assert len(row_ids(first)) == 50
    assert "Page 1 of 2" in first
    second = client.get("/inbox/?page=2").content.decode()
    assert len(row_ids(second)) == 5
    assert set(row_ids(first)).isdisjoint(row_ids(second))
    assert len(row_ids(client.get("/inbox/?page=99").content.decode())) == 5


@pytest.fixture
def many(acme: Account, cse: Person) -> Callable[[int], None]:
    """N conversations made straight in the database, half of them Acme's, with tags."""

    def make(count: int) -> None:
        now = timezone.now()
        start = Conversation.objects.count()
        made = Conversation.objects.bulk_create(
            Conversation(
                source="slack" if i % 2 else "email",
                subject=f"Question {start + i}",
                account=acme if i % 2 else None,
                requester_name=f"Requester {i}",
                requester_email=f"r{i}@example.com",
                priority="P2",
                assignee=cse if i % 3 == 0 else None,
                received_at=now,
                next_due_at=now + datetime.timedelta(minutes=i),
            )
            for i in range(count)
        )
        for conversation in made:
            conversation.tags.set([Tag.objects.get_or_create(name=f"tag-{conversation.pk % 3}")[0]])

    return make


def test_inbox_query_count_does_not_grow_with_rows(
    client: Client,
    cse: Person,
    many: Callable[[int], None],
    django_assert_max_num_queries: Any,
) -> None:
    many(3)
    as_user(client, cse)
    client.get("/inbox/")  # warm the session
    with django_assert_max_num_queries(12) as few:
        assert client.get("/inbox/").status_code == 200
    many(57)
    with django_assert_max_num_queries(len(few.captured_queries)) as lots:
        html = client.get("/inbox/").content.decode()
        assert len(row_ids(html)) == 50
    assert len(lots.captured_queries) == len(few.captured_queries)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(row_ids(client.get("/inbox/?q=question", **results()).content.decode())) == 50


def bulk(count: int, *, status: str = "open", **values: Any) -> list[Conversation]:
    """Conversations straight in the database, newest first by id, received a minute apart."""
    now = timezone.now()
    closed = {"closed_at": now, "closure_note": "Done."} if status == "closed" else {}
    made = Conversation.objects.bulk_create(
        Conversation(
            source="api",
            subject=f"Question {status} {i}",
            status=status,
            received_at=now - datetime.timedelta(minutes=count - i),
            **closed,
            **values,
        )
        for i in range(count)
    )
    return sorted(made, key=lambda c: c.received_at, reverse=True)


def closed_tab(html: str) -> str | None:
    """The number on the Closed tab ("3", "3+"), or None when it shows none."""
    match = re.search(
        r'data-queue="closed"[^>]*>Closed(?: <span class="count">([^<]+)</span>)?<', html
    )
    assert match, "no Closed tab"
    return match.group(1)


def test_closed_count_is_capped_and_pages_go_on_past_the_cap(
    client: Client, cse: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    monkeypatch.setattr(inbox_views, "PAGE_SIZE", 2)
    closed = bulk(7, status="closed")
    opened = bulk(2)
    as_user(client, cse)
    html = client.get("/inbox/").content.decode()
    assert closed_tab(html) == "3+"  # more than the cap: 3+, not 7
    assert tab_count(html, "all_open") == 2  # open queues are counted exactly
    assert row_ids(html) == [c.pk for c in opened]

    def page(number: int) -> str:
        return client.get(f"/inbox/?queue=closed&page={number}").content.decode()

    first = page(1)
    assert "<b>3+</b> conversations" in first
    assert "Page 1 of 2+" in first
    assert closed_tab(first) == "3+"
    second = page(2)
    assert "Page 2 of 3+" in second  # counted as far as this page and one row more
    assert 'rel="next"' in second
    last = page(4)
    assert "Page 4 of 4" in last
    assert 'rel="next"' not in last
    assert "<b>7</b> conversations" in last
    assert row_ids(page(99)) == row_ids(last) == [closed[-1].pk]
    # Newest first, no row missed or repeated across the pages.
    assert [i for n in (1, 2, 3, 4) for i in row_ids(page(n))] == [c.pk for c in closed]


def test_closed_tab_shows_no_count_under_a_filter_until_opened(
    client: Client, cse: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk(3, status="closed")
    bulk(2)
    as_user(client, cse)
    assert closed_tab(client.get("/inbox/").content.decode()) == "3"  # exact below the cap
    searched = client.get("/inbox/?q=Question", **results()).content.decode()
    assert closed_tab(searched) is None  # the history is not scanned on every keystroke
    assert tab_count(searched, "all_open") == 2
    opened = client.get("/inbox/?queue=closed&q=closed", **results()).content.decode()
    assert len(row_ids(opened)) == 3
    assert "<b>3</b> conversations" in opened
    assert closed_tab(opened) == "3"
    monkeypatch.setattr(inbox_views, "PAGE_SIZE", 2)
    paged = client.get("/inbox/?queue=closed&q=closed").content.decode()
    assert "<b>2+</b> conversations" in paged  # read one row ahead, not counted
    assert "Page 1 of 2+" in paged
    assert closed_tab(paged) == "2+"
    assert len(row_ids(client.get("/inbox/?queue=closed&q=closed&page=2").content.decode())) == 1


def test_deep_pages_keep_the_due_order(
    client: Client, cse: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages past the first pick their ids from the index first (selectors.page_of)."""
    now = timezone.now()
    made = bulk(4) + bulk(3, assignee=cse) + bulk(2, status="on_hold")
    for i, c in enumerate(made[:6]):  # ties on the deadline, then by received time
        Conversation.objects.filter(pk=c.pk).update(next_due_at=now + datetime.timedelta(i // 2))
    monkeypatch.setattr(inbox_views, "PAGE_SIZE", 2)
    as_user(client, cse)
    expected = list(
        selectors.conversation_list(user=cse.user, queue="all_open", order="due").values_list(
            "pk", flat=True
        )
    )
    assert len(expected) == 9
    pages = [row_ids(client.get(f"/inbox/?page={n}").content.decode()) for n in range(1, 6)]
    assert [i for ids in pages for i in ids] == expected
    mine = [row_ids(client.get(f"/inbox/?queue=mine&page={n}").content.decode()) for n in (1, 2)]
    assert sorted(i for ids in mine for i in ids) == sorted(c.pk for c in made if c.assignee)


@pytest.mark.parametrize("page_size", [50, 1])
def test_tab_counts_are_the_same_when_counted_among_the_first_page(
    client: Client,
    cse: Person,
    vp: Person,
    thread: Conversation,
    application: Conversation,
    community: Conversation,
    monkeypatch: pytest.MonkeyPatch,
    page_size: int,
) -> None:
    """When page 1 holds the whole of "All open" (50 a page), the open tabs are counted among
    its rows; with 1 a page they are counted over all open conversations. Same numbers."""
    monkeypatch.setattr(inbox_views, "PAGE_SIZE", page_size)
    services.update_conversation(actor=None, conversation=application, assignee=cse)
    services.update_conversation(actor=None, conversation=community, assignee=vp)
    as_user(client, cse)
    for q in ("", "upgrade", "Applicant", "o", "zzzz"):
        html = client.get(f"/inbox/?q={q}", **results()).content.decode()
        expected = selectors.queue_counts(user=cse.user, queues=selectors.OPEN_QUEUES, q=q)
        for queue, count in expected.items():
            assert tab_count(html, queue) == count, (q, queue)


def test_open_queues_use_their_partial_indexes(cse: Person) -> None:
    """The partial indexes' condition is the selectors' OPEN, term for term: SQLite uses a
    partial index only then (docs/performance.md, the inbox at 1,000,000 conversations)."""
    assert {*selectors.OPEN_STATUSES, Conversation.Status.CLOSED} == set(Conversation.Status.values)
    partial = [i for i in Conversation._meta.indexes if i.name.startswith("conversation_open_")]
    assert len(partial) == 3
    assert all(i.condition == selectors.OPEN for i in partial)
    if connection.vendor != "sqlite":  # PostgreSQL plans by table size: a test table is tiny
        return
    plans = {
        "conversation_open_due": selectors.conversation_list(
            user=cse.user, queue="all_open", order="due"
        ),
        "conversation_open_assignee_due": selectors.conversation_list(
            user=cse.user, queue="unassigned", order="due"
        ),
        "conversation_open_received": selectors.conversation_list(
            user=cse.user, queue="all_open", order="received"
        ),
    }
    for name, qs in plans.items():
        assert name in qs.explain(), (name, qs.explain())


# --- the conversation page -------------------------------------------------------------------


def test_conversation_page_shows_thread_notes_clocks_and_history(
    client: Client, cse: Person, thread: Conversation
) -> None:
    services.add_note(actor=cse.user, conversation=thread, body="Looks like the 4.61 bug.")
    services.reply(actor=cse.user, conversation=thread, body="We are looking into it.")
    html = as_user(client, cse).get(f"/inbox/{thread.pk}/").content.decode()
    assert 'class="flash' not in html  # the thread is not mistaken for flash messages
    assert html.count('class="msg msg-inbound"') == 1
    assert html.count('class="msg msg-note"') == 1
    assert html.count('class="msg msg-reply"') == 1
    note = html[html.index('class="msg msg-note"') :]
    assert "Internal note" in note[:1000]
    assert "Public reply" in html
    # The SLA card: the first response met, the resolution clock running, policy named.
    assert "First response" in html
    assert "badge-clock-met" in html
    assert "badge-clock-running" in html
    assert "<code>premium</code>" in html
    assert "added an internal note" in html
    assert "replied" in html
    assert 'data-shortcut="a"' in html  # assign to me
    assert 'id="reply_cc"' not in html  # Slack: no CC


def test_clock_states_and_due_time_in_the_viewer_time_zone(
    client: Client, make_person: Callable[..., Person], thread: Conversation
) -> None:
    chicago = make_person("cse", name="Cleo", email="cleo@example.com", timezone="America/Chicago")
    first = thread.sla_clocks.get(target=SlaClock.Target.FIRST_RESPONSE)
    due = datetime.datetime(2030, 1, 15, 18, 30, tzinfo=datetime.UTC)
    SlaClock.objects.filter(pk=first.pk).update(due_at=due)
    html = as_user(client, chicago).get(f"/inbox/{thread.pk}/").content.decode()
    assert "Tue Jan 15, 12:30 CST" in html  # 18:30 UTC, shown in Chicago
    SlaClock.objects.filter(pk=first.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    html = client.get(f"/inbox/{thread.pk}/").content.decode()
    assert "badge-clock-breached" in html
    assert "overdue 1h" in html
    services.update_conversation(actor=None, conversation=thread, status="on_hold")
    html = client.get(f"/inbox/{thread.pk}/").content.decode()
    assert "badge-clock-paused" in html
    assert "over" in html
    services.update_conversation(actor=None, conversation=thread, status="open")
    thread.refresh_from_db()
    services.reply(actor=chicago.user, conversation=thread, body="Answered, late.")
    html = client.get(f"/inbox/{thread.pk}/").content.decode()
    assert "badge-clock-late" in html


def test_reply_by_email_with_cc_and_an_internal_note(
    client: Client, cse: Person, application: Conversation
) -> None:
    as_user(client, cse)
    url = f"/inbox/{application.pk}/messages/"
    page = client.get(f"/inbox/{application.pk}/").content.decode()
    assert 'id="reply_cc"' in page  # a contact-form conversation is answered by e-mail
    r = client.post(
        url,
        {"kind": "reply", "body": "Thanks, we will be in touch.", "cc": "hr@example.com"},
        **HTMX,
        HTTP_HX_TARGET="reply-box",
    )
    assert r.status_code == 200, r.content.decode()
    assert r["HX-Retarget"] == "#conversation"
    html = r.content.decode()
    assert 'id="conversation"' in html
    assert "Thanks, we will be in touch." in html
    email = OutboxMessage.objects.get()
    assert email.payload["to"] == ["jo@applicant.example"]
    assert email.payload["cc"] == ["hr@example.com"]
    r = client.post(url, {"kind": "note", "body": "Forwarded to the hiring manager."}, **HTMX)
    assert r.status_code == 200
    assert 'class="msg msg-note"' in r.content.decode()
    assert OutboxMessage.objects.count() == 1  # a note is never sent
    kinds = list(application.messages.values_list("kind", flat=True))
    assert kinds == ["inbound", "reply", "note"]
    # Without htmx: back to the page.
    r = client.post(url, {"kind": "note", "body": "One more."})
    assert r.status_code == 302
    assert r["Location"] == f"/inbox/{application.pk}/#thread"


@pytest.mark.parametrize(
    ("data", "label"),
    [
        ({"kind": "reply", "body": ""}, "Message"),
        ({"kind": "reply", "body": "x" * 50_001}, "Message"),
        ({"kind": "reply", "body": "a\x00b"}, "Message"),
        ({"kind": "shout", "body": "Hi"}, "Send as"),
        ({"kind": "reply", "body": "Hi", "cc": "not-an-address"}, "CC"),
    ],
)
def test_reply_errors_name_the_field(
    client: Client, cse: Person, application: Conversation, data: dict[str, str], label: str
) -> None:
    r = as_user(client, cse).post(f"/inbox/{application.pk}/messages/", data, **HTMX)
    assert r.status_code == 400
    html = r.content.decode()
    assert f"<b>{label}</b>" in html
    assert 'id="reply-box"' in html
    assert "<html" not in html
    assert application.messages.count() == 1


def test_cc_on_a_slack_conversation_is_refused(
    client: Client, cse: Person, thread: Conversation
) -> None:
    r = as_user(client, cse).post(
        f"/inbox/{thread.pk}/messages/", {"kind": "reply", "body": "Hi", "cc": "a@b.example"}
    )
    assert r.status_code == 422
    assert "<b>CC</b>" in r.content.decode()
    assert thread.messages.count() == 1


def test_saved_reply_fills_the_reply_box(
    client: Client, cse: Person, application: Conversation, position_reply: SavedReply
) -> None:
    as_user(client, cse)
    page = client.get(f"/inbox/{application.pk}/").content.decode()
    assert "Applying for open position" in page
    r = client.post(
        f"/inbox/{application.pk}/saved-reply/",
        {"saved_reply": position_reply.key, "kind": "reply", "body": ""},
        **HTMX,
    )
    html = r.content.decode()
    assert r.status_code == 200, html
    assert "Hi Jo Applicant, thanks for applying for the Solutions Architect role." in html
    assert 'value="Your application for Solutions Architect"' in html
    assert application.messages.count() == 1  # inserting sends nothing


def test_saved_reply_with_a_missing_variable_names_it(
    client: Client, cse: Person, policies: dict[str, SlaPolicy], position_reply: SavedReply
) -> None:
    by_email = services.open_conversation(
        actor=None,
        source="email",
        category="job-application",
        subject="Job?",
        body="Are you hiring?",
        requester_name="Max Mailer",
        requester_email="max@mail.example",
    )
    as_user(client, cse)
    url = f"/inbox/{by_email.pk}/saved-reply/"
    typed = {"saved_reply": position_reply.key, "kind": "reply", "body": "My draft"}
    r = client.post(url, typed, **HTMX)
    html = r.content.decode()
    assert r.status_code == 422
    assert "position_title" in html
    assert 'name="var_position_title"' in html
    assert "Position title" in html
    assert "My draft" in html  # nothing was lost
    r = client.post(url, {**typed, "var_position_title": "Solutions Engineer"}, **HTMX)
    html = r.content.decode()
    assert r.status_code == 200
    assert "thanks for applying for the Solutions Engineer role" in html
    assert 'value="Your application for Solutions Engineer"' in html
    r = client.post(url, {**typed, "saved_reply": "no-such-reply"}, **HTMX)
    assert r.status_code == 400
    assert "Saved reply" in r.content.decode()


def test_controls_change_priority_assignee_and_tags(
    client: Client, cse: Person, thread: Conversation
) -> None:
    as_user(client, cse)
    url = f"/inbox/{thread.pk}/update/"
    r = client.post(url, {"priority": "P0", "tags": "upgrade, hosts"}, **HTMX)
    assert r.status_code == 200, r.content.decode()
    assert r["HX-Retarget"] == "#conversation"
    thread.refresh_from_db()
    assert thread.priority == "P0"
    assert thread.assignee is None  # not sent, not changed
    assert sorted(thread.tags.values_list("name", flat=True)) == ["hosts", "upgrade"]
    r = client.post(url, {"assignee": str(cse.pk)}, **HTMX)
    assert r.status_code == 200
    thread.refresh_from_db()
    assert (thread.assignee, thread.priority) == (cse, "P0")
    assert "changed the conversation" in r.content.decode()
    r = client.post(url, {"assignee": ""})
    assert r.status_code == 302
    thread.refresh_from_db()
    assert thread.assignee is None


@pytest.mark.parametrize(
    ("data", "label"),
    [
        ({"status": "exploded"}, "Status"),
        ({"priority": "P7"}, "Priority"),
        ({"assignee": "999999"}, "Assignee"),
        ({"tags": "not a/slug"}, "Tags"),
    ],
)
def test_control_errors_name_the_field(
    client: Client, cse: Person, thread: Conversation, data: dict[str, str], label: str
) -> None:
    r = as_user(client, cse).post(f"/inbox/{thread.pk}/update/", data, **HTMX)
    assert 400 <= r.status_code < 500
    html = r.content.decode()
    assert f"<b>{label}</b>" in html
    assert 'id="controls"' in html
    thread.refresh_from_db()
    assert (thread.status, thread.priority) == ("open", "P1")


def test_closing_without_a_closure_note_is_refused(
    client: Client, cse: Person, thread: Conversation
) -> None:
    as_user(client, cse)
    r = client.post(f"/inbox/{thread.pk}/update/", {"status": "closed"}, **HTMX)
    assert r.status_code == 422
    html = r.content.decode()
    assert "<b>Closure note</b>" in html
    assert '<details class="close-box" id="close" open>' in html
    thread.refresh_from_db()
    assert thread.status == "open"
    # The checkbox with no reply to copy is refused the same way.
    r = client.post(
        f"/inbox/{thread.pk}/update/", {"status": "closed", "use_last_reply": "1"}, **HTMX
    )
    assert r.status_code == 422
    assert "<b>Closure note</b>" in r.content.decode()


def test_close_with_the_last_reply_as_the_closure_note(
    client: Client, cse: Person, application: Conversation
) -> None:
    as_user(client, cse)
    client.post(
        f"/inbox/{application.pk}/messages/",
        {"kind": "reply", "body": "Thanks for applying! We will be in touch."},
    )
    page = client.get(f"/inbox/{application.pk}/?close=1").content.decode()
    assert '<details class="close-box" id="close" open>' in page
    assert "Use my last reply as the closure note" in page
    r = client.post(
        f"/inbox/{application.pk}/update/", {"status": "closed", "use_last_reply": "1"}, **HTMX
    )
    assert r.status_code == 200, r.content.decode()
    application.refresh_from_db()
    assert application.status == "closed"
    assert "Thanks for applying! We will be in touch." in application.closure_note
    html = r.content.decode()
    assert "Closure note" in html
    assert "badge-status-closed" in html
    assert not application.sla_clocks.filter(stopped_at__isnull=True).exists()
    # Closed: the inbox's Closed tab has it; reopening needs no note.
    assert row_ids(client.get("/inbox/?queue=closed").content.decode()) == [application.pk]
    r = client.post(f"/inbox/{application.pk}/update/", {"status": "open"}, **HTMX)
    assert r.status_code == 200
    application.refresh_from_db()
    assert application.status == "open"


def test_close_with_a_typed_note(client: Client, cse: Person, thread: Conversation) -> None:
    r = as_user(client, cse).post(
        f"/inbox/{thread.pk}/update/",
        {"status": "closed", "closure_note": "Fixed in 4.62; customer confirmed."},
    )
    assert r.status_code == 302
    thread.refresh_from_db()
    assert (thread.status, thread.closure_note) == ("closed", "Fixed in 4.62; customer confirmed.")


def test_wrong_methods_are_405(client: Client, cse: Person, thread: Conversation) -> None:
    as_user(client, cse)
    assert client.post("/inbox/", {}).status_code == 405
    assert client.get(f"/inbox/{thread.pk}/messages/").status_code == 405
    assert client.get(f"/inbox/{thread.pk}/update/").status_code == 405
    assert client.get(f"/inbox/{thread.pk}/saved-reply/").status_code == 405


# --- an account's status ---------------------------------------------------------------------


def test_account_status_page_lists_open_conversations_with_sla_state(
    client: Client, cse: Person, acme: Account, thread: Conversation, community: Conversation
) -> None:
    other = services.open_conversation(
        actor=None,
        source="slack",
        subject="Dashboard slow",
        body="It is slow.",
        account=acme,
        requester_name="Road Runner",
        priority="P2",
    )
    done = services.open_conversation(
        actor=None, source="slack", subject="Old thing", body="Hi", account=acme
    )
    services.update_conversation(actor=None, conversation=done, status="closed", closure_note="ok")
    SlaClock.objects.filter(conversation=other).update(
        due_at=timezone.now() - datetime.timedelta(minutes=20)
    )
    Conversation.objects.filter(pk=other.pk).update(
        next_due_at=timezone.now() - datetime.timedelta(minutes=20)
    )
    as_user(client, cse)
    account_page = client.get(f"/accounts/{acme.pk}/").content.decode()
    assert f'href="/accounts/{acme.pk}/status/"' in account_page
    assert f'hx-get="/inbox/accounts/{acme.pk}/card/"' in account_page
    html = client.get(f"/accounts/{acme.pk}/status/").content.decode()
    assert "Hosts offline after upgrade" in html
    assert "Dashboard slow" in html
    assert "Old thing" not in html
    assert "Question about osquery" not in html  # not Acme's
    assert html.index("Dashboard slow") < html.index("Hosts offline")  # overdue first
    assert "overdue 20m" in html
    assert "badge-clock-breached" in html
    assert "badge-clock-running" in html
    assert title_of(html) == "Status · Acme Robotics · Ceres"
    card = client.get(f"/inbox/accounts/{acme.pk}/card/", **HTMX).content.decode()
    assert "Dashboard slow" in card
    assert '<span class="count">2</span>' in card
    assert client.get("/accounts/987654/status/").status_code == 404


def test_message_rows_keep_requester_names_for_community(
    client: Client, cse: Person, community: Conversation
) -> None:
    services.add_inbound_message(conversation=community, body="Any news?")
    html = as_user(client, cse).get(f"/inbox/{community.pk}/").content.decode()
    assert html.count("Casey Community") >= 3
    assert Message.objects.filter(conversation=community).count() == 2
