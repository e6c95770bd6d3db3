"""Demo issues: bug reports at each stage of the handbook's workflow and feature requests at
each stage of the feedback loop, so the Issues page, the stand-up board and the accounts' status
pages show something on a fresh `make run`. Made through the tracker's services (labels, audit,
firewall and timers as real use makes them), reproducible from the seed."""

from __future__ import annotations

import random

from ceres.accounts.models import Account
from ceres.core.errors import CeresError
from ceres.team.models import Person
from ceres.tracker import bugs, escalation, feature_requests
from ceres.tracker.bugs import BugReportInput

_BUGS = (
    ("Hosts go offline after upgrading fleetd", "Hosts stay online.", "A third stop checking in."),
    ("Scheduled query results missing", "Results arrive every hour.", "No results since 18:00."),
    ("MDM enrollment returns 500", "New Macs enroll.", "Enrollment fails with a 500."),
    ("SSO login loops back to the login page", "Users land on the dashboard.", "Redirect loop."),
    ("Vulnerability data not refreshed", "Daily refresh.", "Last refresh three days ago."),
    ("fleetd high CPU on Windows", "Under 5% CPU.", "40% CPU on some hosts."),
)  # fmt: skip
_REQUESTS = (
    ("Export host inventory as CSV with custom columns", "Customers want the columns they chose."),
    ("Policy automations per team", "Run a different webhook for each team's failing policies."),
    ("Labels from a script's output", "Dynamic labels from a script run on the host."),
)
# How far along each demo bug is: filed, escalated (on the board), reproduced, not reproduced.
_STAGES = ("filed", "escalated", "escalated", "reproduced", "not_reproduced", "filed")


def make_issues(*, seed: int) -> int:
    rng = random.Random(seed)
    accounts = list(Account.objects.filter(kind=Account.Kind.CUSTOMER).order_by("id")[:50])
    engineer = Person.objects.filter(role__key="cse").order_by("id").first()
    csm = Person.objects.filter(role__key="csm").exclude(github_login="").order_by("id").first()
    designer = Person.objects.filter(role__key="product-designer").exclude(github_login="").first()
    if not accounts or engineer is None:
        return 0
    made = 0
    for (title, expected, actual), stage in zip(_BUGS, _STAGES, strict=True):
        account = rng.choice(accounts)
        data = BugReportInput(
            title=title,
            server_version=f"4.{rng.randint(50, 62)}.{rng.randint(0, 3)}",
            agent_version=f"1.{rng.randint(20, 40)}.0",
            agent_kind=rng.choice(["fleetd", "osquery"]),
            operating_system=rng.choice(["macOS 14.5", "Windows 11", "Ubuntu 24.04"]),
            web_browser=rng.choice(["Chrome 126", "Firefox 128", "Safari 17"]),
            expected_behavior=expected,
            actual_behavior=actual,
            reproduction_steps="1. Upgrade the agent\n2. Wait ten minutes",
            details={"total_hosts": str(rng.randint(200, 40_000))},
        )
        try:
            issue = bugs.file_bug_report(
                actor=None, account=account, data=data, filed_by=engineer
            ).issue
            if stage != "filed":
                escalation.escalate(actor=None, issue=issue)
            if stage == "reproduced":
                escalation.mark_reproduced(actor=None, issue=issue)
            elif stage == "not_reproduced":
                escalation.mark_not_reproduced(actor=None, issue=issue)
        except CeresError:
            continue  # a demo name the firewall refuses: skip it, the demo needs no exception
        made += 1
    for n, (title, body) in enumerate(_REQUESTS):
        request = feature_requests.open_feature_request(
            actor=None, title=title, body=body, accounts=rng.sample(accounts, 2), created_by=None
        )
        if n >= 1 and designer is not None:
            feature_requests.prioritize(actor=None, issue=request.issue, product_designer=designer)
        if n == 2 and csm is not None and designer is not None:
            feature_requests.ask_for_feedback(actor=None, issue=request.issue, csm=csm)
        made += 1
    return made
