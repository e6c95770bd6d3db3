"""The official githubkit client against the GitHub fake, over a real socket."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from githubkit import GitHub, TokenAuthStrategy
from githubkit.exception import (
    PrimaryRateLimitExceeded,
    RequestError,
    RequestFailed,
    RequestTimeout,
    SecondaryRateLimitExceeded,
)

from tests.fakes.github import GitHubFake

OWNER, REPO = "example-vendor", "product"


@pytest.fixture
def github(github_fake: GitHubFake) -> GitHubFake:
    github_fake.add_repo(OWNER, REPO)
    github_fake.add_label(OWNER, REPO, "bug", color="d73a4a", description="Something's wrong")
    return github_fake


@pytest.fixture
def gh(github: GitHubFake) -> GitHub[TokenAuthStrategy]:
    # No automatic retries, so each failure is seen once; no HTTP cache, whose client drops
    # the timeout (test_the_http_cache_drops_the_timeout).
    return GitHub(
        TokenAuthStrategy(github.token),
        base_url=github.url,
        auto_retry=False,
        http_cache=False,
        trust_env=False,
        timeout=5,
    )


def test_create_an_issue_with_labels(github: GitHubFake, gh: GitHub[TokenAuthStrategy]) -> None:
    created = gh.rest.issues.create(
        OWNER,
        REPO,
        title="Crash on export",
        body="Stack trace attached",
        labels=["BUG", ":incoming"],
        assignees=["lena"],
    )

    assert created.status_code == 201
    issue = created.parsed_data  # githubkit's pydantic model: the shape is GitHub's
    assert issue.number == 1
    assert issue.state == "open"
    assert issue.title == "Crash on export"
    assert issue.html_url == f"https://github.com/{OWNER}/{REPO}/issues/1"
    labels = created.json()["labels"]
    assert [(label["name"], label["color"]) for label in labels] == [
        ("bug", "d73a4a"),  # the repository's label, matched case-insensitively
        (":incoming", "ededed"),  # created on first use
    ]
    assert [u.login for u in issue.assignees or []] == ["lena"]
    assert issue.user is not None
    assert issue.user.login == github.login
    assert issue.comments == 0
    call = github.calls("issues.create")[0]
    assert call.path == f"/repos/{OWNER}/{REPO}/issues"
    assert call.body["labels"] == ["BUG", ":incoming"]
    assert call.headers["authorization"] == f"token {github.token}"
    assert call.status == 201
    assert github.issue(OWNER, REPO, 1)["body"] == "Stack trace attached"
    assert {label["name"] for label in github.labels(OWNER, REPO)} == {"bug", ":incoming"}

    fetched = gh.rest.issues.get(OWNER, REPO, 1).parsed_data
    assert fetched.id == issue.id
    with pytest.raises(RequestFailed) as missing:
        gh.rest.issues.get(OWNER, REPO, 99)
    assert missing.value.response.status_code == 404
    assert missing.value.response.json()["message"] == "Not Found"


def test_update_and_close_an_issue(github: GitHubFake, gh: GitHub[TokenAuthStrategy]) -> None:
    gh.rest.issues.create(OWNER, REPO, title="Old", labels=["bug"])

    updated = gh.rest.issues.update(
        OWNER, REPO, 1, title="New", state="closed", labels=["wontfix"]
    ).parsed_data

    assert updated.title == "New"
    assert updated.state == "closed"
    assert updated.closed_at is not None
    assert github.issue(OWNER, REPO, 1)["labels"][0]["name"] == "wontfix"
    assert gh.rest.issues.get(OWNER, REPO, 1).parsed_data.state == "closed"


def test_add_set_and_list_labels(github: GitHubFake, gh: GitHub[TokenAuthStrategy]) -> None:
    gh.rest.issues.create(OWNER, REPO, title="Crash", labels=["bug"])

    added = gh.rest.issues.add_labels(OWNER, REPO, 1, data={"labels": ["~investigate", "bug"]})

    assert [label.name for label in added.parsed_data] == ["bug", "~investigate"]
    assert github.calls("issues.add_labels")[0].body == {"labels": ["~investigate", "bug"]}
    listed = gh.rest.issues.list_labels_on_issue(OWNER, REPO, 1).parsed_data
    assert [label.name for label in listed] == ["bug", "~investigate"]
    replaced = gh.rest.issues.set_labels(OWNER, REPO, 1, data={"labels": ["+more info"]})
    assert [label.name for label in replaced.parsed_data] == ["+more info"]


@pytest.mark.parametrize("sent", ["+more info", quote("+more info", safe="")])
def test_remove_a_label_with_url_encoded_name(
    github: GitHubFake, gh: GitHub[TokenAuthStrategy], sent: str
) -> None:
    gh.rest.issues.create(OWNER, REPO, title="Crash", labels=["bug", "+more info"])

    remaining = gh.rest.issues.remove_label(OWNER, REPO, 1, sent)

    assert [label.name for label in remaining.parsed_data] == ["bug"]
    call = github.calls("issues.remove_label")[0]
    assert call.params["name"] == "+more info"
    assert [label["name"] for label in github.issue(OWNER, REPO, 1)["labels"]] == ["bug"]


def test_remove_a_label_not_on_the_issue_is_404(
    github: GitHubFake, gh: GitHub[TokenAuthStrategy]
) -> None:
    gh.rest.issues.create(OWNER, REPO, title="Crash", labels=["bug"])

    with pytest.raises(RequestFailed) as failed:
        gh.rest.issues.remove_label(OWNER, REPO, 1, ":incoming")

    assert failed.value.response.status_code == 404
    assert failed.value.response.json()["message"] == "Label does not exist"
    assert [label["name"] for label in github.issue(OWNER, REPO, 1)["labels"]] == ["bug"]


def test_comment_on_an_issue(github: GitHubFake, gh: GitHub[TokenAuthStrategy]) -> None:
    gh.rest.issues.create(OWNER, REPO, title="Crash")

    created = gh.rest.issues.create_comment(OWNER, REPO, 1, body="Seen at Acme too")

    assert created.status_code == 201
    comment = created.parsed_data
    assert comment.body == "Seen at Acme too"
    assert comment.html_url.endswith(f"/issues/1#issuecomment-{comment.id}")
    assert comment.user is not None
    assert comment.user.login == github.login
    assert comment.created_at is not None
    listed = gh.rest.issues.list_comments(OWNER, REPO, 1).parsed_data
    assert [c.id for c in listed] == [comment.id]
    assert gh.rest.issues.get(OWNER, REPO, 1).parsed_data.comments == 1
    assert github.comments(OWNER, REPO, 1)[0]["body"] == "Seen at Acme too"


def test_search_by_label_and_words(github: GitHubFake, gh: GitHub[TokenAuthStrategy]) -> None:
    github.add_repo(OWNER, "other")
    gh.rest.issues.create(OWNER, REPO, title="Crash on export", labels=["bug", "+more info"])
    gh.rest.issues.create(OWNER, REPO, title="Slow export", body="CRASH later", labels=["bug"])
    gh.rest.issues.create(OWNER, REPO, title="Crash on import", labels=["+more info"])
    gh.rest.issues.create(OWNER, "other", title="Crash on export", labels=["bug"])
    gh.rest.issues.update(OWNER, REPO, 3, state="closed")

    def numbers(q: str) -> list[int]:
        result = gh.rest.search.issues_and_pull_requests(q=q).parsed_data
        assert result.incomplete_results is False
        assert result.total_count == len(result.items)
        return [item.number for item in result.items]

    repo = f"repo:{OWNER}/{REPO} is:issue"
    assert numbers(f"{repo} crash") == [3, 2, 1]  # newest first; body words count
    assert numbers(f'{repo} is:open label:"+more info"') == [1]
    assert numbers(f'{repo} label:bug label:"+more info" export') == [1]
    assert numbers(f'{repo} -label:bug "crash on"') == [3]
    assert numbers(f"{repo} is:closed") == [3]
    assert numbers(f"{repo} is:pr") == []
    assert len(numbers("crash on export")) == 2  # no repo: every repository
    assert github.calls("search.issues")[0].query["q"] == f"{repo} crash"

    with pytest.raises(RequestFailed) as unknown:
        gh.rest.search.issues_and_pull_requests(q=f"{repo} author:lena")
    assert unknown.value.response.status_code == 422


def test_bad_or_missing_token_is_401(github: GitHubFake) -> None:
    wrong = GitHub("ghp_not-the-token", base_url=github.url, auto_retry=False, trust_env=False)
    with pytest.raises(RequestFailed) as failed:
        wrong.rest.issues.create(OWNER, REPO, title="x")
    assert failed.value.response.status_code == 401
    assert failed.value.response.json()["message"] == "Bad credentials"

    anonymous = GitHub(base_url=github.url, auto_retry=False, trust_env=False)
    with pytest.raises(RequestFailed) as missing:
        anonymous.rest.issues.get(OWNER, REPO, 1)
    assert missing.value.response.status_code == 401
    assert missing.value.response.json()["message"] == "Requires authentication"
    assert [c.token for c in github.calls()] == ["ghp_not-the-token", None]
    with pytest.raises(KeyError):
        github.issue(OWNER, REPO, 1)


def test_403_secondary_rate_limit_with_retry_after(
    github: GitHubFake, gh: GitHub[TokenAuthStrategy]
) -> None:
    github.fail_next("issues.create", status=403, retry_after=7)

    with pytest.raises(SecondaryRateLimitExceeded) as limited:
        gh.rest.issues.create(OWNER, REPO, title="Crash")

    response = limited.value.response
    assert response.status_code == 403
    assert response.headers["Retry-After"] == "7"
    assert limited.value.retry_after == timedelta(seconds=7)
    assert "secondary rate limit" in response.json()["message"]
    assert github.calls("issues.create")[0].injected == "status:403"
    # The next call goes through.
    assert gh.rest.issues.create(OWNER, REPO, title="Crash").status_code == 201


def test_403_primary_rate_limit(github: GitHubFake, gh: GitHub[TokenAuthStrategy]) -> None:
    github.fail_next("issues.get", status=403, rate_limit="primary", reset_in=120)

    with pytest.raises(PrimaryRateLimitExceeded) as limited:
        gh.rest.issues.get(OWNER, REPO, 1)

    headers = limited.value.response.headers
    assert headers["x-ratelimit-remaining"] == "0"
    assert 100 < int(headers["x-ratelimit-reset"]) - time.time() <= 120
    assert "retry-after" not in headers
    assert limited.value.response.json()["message"].startswith("API rate limit exceeded")


def test_429_with_retry_after(github: GitHubFake, gh: GitHub[TokenAuthStrategy]) -> None:
    github.fail_next("search.issues", status=429, retry_after=2)

    with pytest.raises(SecondaryRateLimitExceeded) as limited:
        gh.rest.search.issues_and_pull_requests(q=f"repo:{OWNER}/{REPO} crash")

    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["retry-after"] == "2"


@pytest.mark.parametrize("status", [500, 502])
def test_server_errors(github: GitHubFake, gh: GitHub[TokenAuthStrategy], status: int) -> None:
    github.fail_next("issues.create_comment", status=status, times=2)
    gh.rest.issues.create(OWNER, REPO, title="Crash")

    for _ in range(2):
        with pytest.raises(RequestFailed) as failed:
            gh.rest.issues.create_comment(OWNER, REPO, 1, body="hi")
        assert failed.value.response.status_code == status
    assert gh.rest.issues.create_comment(OWNER, REPO, 1, body="hi").status_code == 201
    assert [c.status for c in github.calls("issues.create_comment")] == [status, status, 201]
    assert len(github.comments(OWNER, REPO, 1)) == 1


def test_applied_then_failed_creates_the_issue(
    github: GitHubFake, gh: GitHub[TokenAuthStrategy]
) -> None:
    github.fail_next("issues.create", status=502, apply=True)

    with pytest.raises(RequestFailed):
        gh.rest.issues.create(OWNER, REPO, title="Crash")

    assert github.issue(OWNER, REPO, 1)["title"] == "Crash"
    assert github.calls("issues.create")[0].applied["number"] == 1


def test_hang_times_out(github: GitHubFake) -> None:
    github.fail_next("issues.create", hang=True)
    gh = github.client(timeout=0.3)

    started = time.monotonic()
    with pytest.raises(RequestTimeout):
        gh.rest.issues.create(OWNER, REPO, title="Crash")

    assert time.monotonic() - started < 2
    assert github.calls("issues.create")[0].injected == "hang"
    assert github.calls("issues.create")[0].status is None


def test_the_http_cache_drops_the_timeout(github: GitHubFake) -> None:
    # githubkit's default http_cache=True sends through hishel 1.x, which rebuilds the request
    # without httpx's timeout: a hung GitHub is waited on until it hangs up. Hence
    # http_cache=False wherever a timeout matters (GitHubFake.client() sets it).
    github.fail_next("issues.create", hang=0.5)
    gh = github.client(timeout=0.1, http_cache=True)

    started = time.monotonic()
    with pytest.raises(RequestError) as failed:
        gh.rest.issues.create(OWNER, REPO, title="Crash")

    assert not isinstance(failed.value, RequestTimeout)
    assert time.monotonic() - started >= 0.45


def test_rate_limit_endpoint(github: GitHubFake) -> None:
    gh = github.client()  # keep a reference: `gh.rest` holds the client only weakly
    overview = gh.rest.rate_limit.get().parsed_data
    assert overview.resources.core.limit == 5000
    assert overview.resources.core.remaining > 0
