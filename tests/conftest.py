from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings

from ceres.accounts import services as account_services
from ceres.accounts.codenames import load_catalogue
from ceres.accounts.models import Account, Codename, Product
from ceres.sla import services as sla_services
from ceres.sla.models import SlaPolicy
from ceres.team import services as team_services
from ceres.team.models import Person, Role
from tests.sla.conftest import HOUR, SUPPORT
from tests.slack.conftest import SECRET as SLACK_SIGNING_SECRET

if TYPE_CHECKING:  # imported by the fixtures: slack_sdk and twilio load only for tests using them
    from tests.fakes.github import GitHubFake
    from tests.fakes.slack import SlackFake
    from tests.fakes.twilio import TwilioFake

# Tests that start processes (the worker, the web server) need the SQLite test database in a
# file, not in memory: each run gets its own under a temporary directory.
_TMP = Path(tempfile.mkdtemp(prefix="ceres-test-"))
os.environ.setdefault("CERES_TEST_TMP", str(_TMP))


def pytest_configure(config: pytest.Config) -> None:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        db["TEST"]["NAME"] = str(_TMP / f"test-{worker}.sqlite3")
    elif os.environ.get("CERES_TEST_DB_NAME"):
        # Lets several test runs share one PostgreSQL server without clashing.
        db["TEST"]["NAME"] = os.environ["CERES_TEST_DB_NAME"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Signed Slack requests in tests use this secret; tests of "no secret" set it empty.
    settings.CERES_SLACK_SIGNING_SECRET = SLACK_SIGNING_SECRET
    # Argon2 is what Ceres uses (tests/team/test_auth.py checks it); tests hash hundreds of
    # passwords, so they use a fast hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _minor_planet_catalogue(
    request: pytest.FixtureRequest, django_db_setup: None, django_db_blocker: Any
) -> None:
    """The catalogue is data loaded by a migration; a transactional test's flush removes it.
    Put it back (committed, before the test's own transaction) for the tests that follow."""
    uses_db = request.node.get_closest_marker("django_db") is not None or any(
        name in request.fixturenames for name in ("db", "transactional_db", "live_server")
    )
    if not uses_db:
        return
    with django_db_blocker.unblock():
        if not Codename.objects.exists():
            load_catalogue(Codename)


STANDARD_ROLES: dict[str, tuple[str, list[str]]] = {
    "vp-cs": ("VP of Customer Success", ["all"]),
    "cse": (
        "Customer Support Engineer",
        [
            "accounts.view_confidential",
            "accounts.add_account",
            "accounts.change_account",
            "accounts.add_contact",
            "accounts.change_contact",
            "conversations.view_conversation",
            "conversations.add_conversation",
            "conversations.change_conversation",
            "conversations.add_message",
            "tracker.view_trackerissue",
            "tracker.add_trackerissue",
            "tracker.change_trackerissue",
        ],
    ),
    "engineer": ("Engineer", []),
}


@pytest.fixture
def roles(db: None) -> dict[str, Role]:
    return {
        key: team_services.save_role(actor=None, key=key, name=name, permission_names=perms)
        for key, (name, perms) in STANDARD_ROLES.items()
    }


@pytest.fixture
def make_person(roles: dict[str, Role]) -> Callable[..., Person]:
    counter = {"n": 0}

    def make(role: str = "cse", **kwargs: Any) -> Person:
        counter["n"] += 1
        n = counter["n"]
        values: dict[str, Any] = {
            "name": f"Person {n}",
            "email": f"person{n}@example.com",
            "password": "correct horse battery staple",
        }
        values.update(kwargs)
        return team_services.create_person(actor=None, role=role, **values)

    return make


@pytest.fixture
def vp(make_person: Callable[..., Person]) -> Person:
    return make_person("vp-cs", name="Ada Ortiz", email="ada@example.com", username="ada")


@pytest.fixture
def cse(make_person: Callable[..., Person]) -> Person:
    return make_person("cse", name="Lena Park", email="lena@example.com", username="lena")


@pytest.fixture
def engineer(make_person: Callable[..., Person]) -> Person:
    return make_person("engineer", name="Sam Engel", email="sam@example.com", username="sam")


@pytest.fixture
def products(db: None) -> dict[str, Product]:
    return {
        key: Product.objects.create(key=key, name=name, position=i)
        for i, (key, name) in enumerate(
            [
                ("free", "Fleet Free"),
                ("premium", "Fleet Premium"),
                ("premium-mdm", "Fleet Premium MDM"),
            ]
        )
    }


@pytest.fixture
def acme(products: dict[str, Product], cse: Person) -> Account:
    account = account_services.create_account(
        actor=cse.user,
        legal_name="Acme Robotics",
        codename="Kamo`oalewa",
        product="premium",
        slack_channel_id="C0ACME",
        csm_owner=cse.pk,
    )
    account_services.add_contact(
        actor=cse.user,
        account=account,
        name="Wile Coyote",
        email="wile@acme-robotics.example",
        role="champion",
    )
    return account


@pytest.fixture
def slack_fake() -> Iterator[SlackFake]:
    """A fake Slack Web API on 127.0.0.1 (tests/fakes/slack.py): `slack_fake.client()` or
    `WebClient(token=slack_fake.token, base_url=slack_fake.api_url)`."""
    from tests.fakes.slack import SlackFake

    with SlackFake() as fake:
        yield fake
    assert not fake.internal_errors, fake.internal_errors[0]


@pytest.fixture
def twilio_fake() -> Iterator[TwilioFake]:
    """A fake Twilio Messages API on 127.0.0.1 (tests/fakes/twilio.py): `twilio_fake.client()`,
    or a `twilio.rest.Client` with `client.api.base_url = twilio_fake.url`."""
    from tests.fakes.twilio import TwilioFake

    with TwilioFake() as fake:
        yield fake
    assert not fake.internal_errors, fake.internal_errors[0]


@pytest.fixture
def github_fake() -> Iterator[GitHubFake]:
    """A fake GitHub REST API on 127.0.0.1 (tests/fakes/github.py): `github_fake.client()`, or
    `githubkit.GitHub(github_fake.token, base_url=github_fake.url, auto_retry=False,
    http_cache=False)`."""
    from tests.fakes.github import GitHubFake

    with GitHubFake() as fake:
        yield fake
    assert not fake.internal_errors, fake.internal_errors[0]


@pytest.fixture
def handbook_policies(db: None) -> dict[str, SlaPolicy]:
    """The handbook's rules, as the demo playbook states them."""
    sla_services.save_calendar(actor=None, key="support", spec=SUPPORT)
    policies = [
        (
            "job-application",
            {"source": ["contact_form"], "category": ["job-application"]},
            {
                "first_response": [
                    {"within_seconds": 4 * HOUR, "clock": "business", "calendar": "support"}
                ]
            },
        ),
        (
            "premium",
            {"tier": ["premium", "premium-mdm"]},
            {
                "first_response": [
                    {"when": "inside_hours", "calendar": "support", "within_seconds": HOUR},
                    {"when": "outside_hours", "calendar": "support", "within_seconds": 4 * HOUR},
                ],
                "next_response": [
                    {"within_seconds": 4 * HOUR, "clock": "business", "calendar": "support"}
                ],
            },
        ),
        (
            "community-slack",
            {"source": ["slack"], "channel_kind": ["community"]},
            {"first_response": [{"within_seconds": 24 * HOUR}]},
        ),
        (
            "default",
            {},
            {
                "first_response": [
                    {"within_seconds": 8 * HOUR, "clock": "business", "calendar": "support"}
                ]
            },
        ),
    ]
    return {
        key: sla_services.save_policy(
            actor=None,
            key=key,
            position=10 * (i + 1),
            match=match,
            targets=targets,
            escalate_to_role="vp-cs",
        )
        for i, (key, match, targets) in enumerate(policies)
    }
