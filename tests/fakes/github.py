"""A small GitHub REST API server for tests: a real HTTP server on 127.0.0.1 for githubkit.

    with GitHubFake() as github:  # or the `github_fake` fixture (tests/conftest.py)
        github.add_repo("example-vendor", "product")
        gh = GitHub(github.token, base_url=github.url, auto_retry=False, http_cache=False)
        issue = gh.rest.issues.create("example-vendor", "product", title="Crash", labels=["bug"])
        assert github.issue("example-vendor", "product", 1)["labels"][0]["name"] == "bug"
        assert github.calls("issues.create")[0].body["title"] == "Crash"

Requests are what GitHub receives, on GitHub's paths, with the token in `Authorization: token
<t>` (githubkit) or `Bearer <t>`; a missing token answers 401 "Requires authentication", a
wrong one 401 "Bad credentials". Errors are JSON `{"message", "documentation_url", "status"}`
as on GitHub; an unknown repository or issue answers 404 "Not Found", an unknown route too.
Implemented (operation names as in githubkit's `rest.issues` / `rest.search`):

    issues.create               POST   /repos/{owner}/{repo}/issues                       201
    issues.list_for_repo        GET    /repos/{owner}/{repo}/issues?state=&sort=&direction=&since=
    issues.get                  GET    /repos/{owner}/{repo}/issues/{number}
    issues.update               PATCH  /repos/{owner}/{repo}/issues/{number}
    issues.list_labels_on_issue GET    /repos/{owner}/{repo}/issues/{number}/labels
    issues.add_labels           POST   /repos/{owner}/{repo}/issues/{number}/labels       200
    issues.set_labels           PUT    /repos/{owner}/{repo}/issues/{number}/labels
    issues.remove_all_labels    DELETE /repos/{owner}/{repo}/issues/{number}/labels       204
    issues.remove_label         DELETE /repos/{owner}/{repo}/issues/{number}/labels/{name}
    issues.list_comments        GET    /repos/{owner}/{repo}/issues/{number}/comments?since=
    issues.create_comment       POST   /repos/{owner}/{repo}/issues/{number}/comments     201
    issues.add_assignees        POST   /repos/{owner}/{repo}/issues/{number}/assignees    201
    issues.remove_assignees     DELETE /repos/{owner}/{repo}/issues/{number}/assignees
    issues.list_labels_for_repo GET    /repos/{owner}/{repo}/labels
    search.issues               GET    /search/issues?q=...
    rate_limit.get              GET    /rate_limit
    apps.create_installation_access_token
                                POST   /app/installations/{installation_id}/access_tokens 201

Repositories come from the test (`add_repo`); issue numbers count from 1 per repository.
Labels are the repository's, matched case-insensitively, and created (colour "ededed") when an
issue first uses one, as GitHub does; `add_label` pre-creates one with a colour. A label name in
a URL is percent-decoded (`%2Bmore%20info`, `~investigate`, `:incoming`); removing a label
that is not on the issue answers 404 "Label does not exist". Assignees are any logins
(removed case-insensitively; removing one not assigned changes nothing, as on GitHub).

Lists (`issues.list_for_repo`, `issues.list_comments`) page by `per_page` (30 by default, at
most 100) and `page`, and keep what was updated at or after `since` (ISO 8601).
`issues.list_for_repo` takes `state` (open by default, closed, all; anything else 422), `sort`
(created by default, updated, comments) and `direction` (desc by default, asc).

GitHub Apps: `add_app(app_id, public_key_pem, installation_id)` registers an App installation.
`apps.create_installation_access_token` wants `Authorization: Bearer <JWT>` signed RS256 by the
App's key with `iss` the App id (else 401), for a known installation (else 404); it answers a
new `ghs_...` token (in `installation_tokens`) that the other operations then accept.

Search (`q`) understands `repo:owner/name`, `is:issue`, `is:pr` (never matches: the fake has no
pull requests), `is:open`/`is:closed`, `state:open|closed`, `label:name` / `label:"a name"`
(several: all of them), `-label:name`, `no:label`, and free words or "quoted phrases", each
matched case-insensitively as a substring of the title or body. Any other qualifier answers
422, so a query the fake does not understand never passes silently. Results are newest first
(or `sort=created|updated`, `order=asc|desc`), paged by `per_page`/`page`.

Every request is recorded, in arrival order and before anything can fail: `requests` (all) and
`calls("issues.create")` (one operation), each a `GitHubCall`. The state for assertions:
`issue(owner, repo, number)` (the issue as GitHub would answer it now), `comments(...)`,
`labels(owner, repo)`.

Failure injection, per operation (or "*" for any), consumed in order by the next matching calls:

    github.fail_next("issues.create", status=403)                   # secondary rate limit,
                                                                     # Retry-After: 60
    github.fail_next("issues.create", status=403, retry_after=5)     # ... Retry-After: 5
    github.fail_next("issues.create", status=403, rate_limit="primary")  # x-ratelimit-remaining:
                                                                     # 0, x-ratelimit-reset
    github.fail_next("search.issues", status=429, retry_after=2)     # 429 + Retry-After
    github.fail_next("issues.get", status=403, rate_limit=None, message="Forbidden")  # plain
    github.fail_next("issues.add_labels", status=500, times=3)       # 500 {"message": ...}
    github.fail_next("issues.create", status=502)                    # 502, an HTML page
    github.fail_next("issues.create", hang=True)     # no answer for `hang_seconds`
    github.fail_next("issues.create", drop=True)     # the connection closed unanswered
    github.fail_next("*", status=503, times=None)    # every call until clear_failures()

With `apply=True` the call takes effect first (the issue is created) and the failure replaces
its answer; the call's `applied` holds the answer that was lost. `stop()` ends every hang.

githubkit retries by default (`auto_retry=True`: a rate limit once after its Retry-After, a 5xx
three times after 1, 4, 9 s); pass `auto_retry=False` to see each failure. It raises
`RequestFailed` (`exc.response.status_code`, `.headers`, `.json()`), and for a 403/429 with
Retry-After or `x-ratelimit-remaining: 0` its subclasses `SecondaryRateLimitExceeded` /
`PrimaryRateLimitExceeded` (`exc.retry_after`, a timedelta); a timeout raises `RequestTimeout`.
But with githubkit's default `http_cache=True` the request goes through hishel 1.x, which drops
httpx's timeout: a hang is waited out (then `RequestError`, the connection closed). Pass
`http_cache=False` where a timeout matters; `client()` does.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from tests.fakes.http import Failure, FakeHttpServer, HttpRequest, Reply

if TYPE_CHECKING:
    from githubkit import GitHub, TokenAuthStrategy

DEFAULT_TOKEN = "ghp_C3r3sT3stT0k3nF4k3000000000000000000"
DOCS = "https://docs.github.com/rest"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID "
    "C3R3:0001:0002:0003:00000004."
)
AUTO_LABEL_COLOR = "ededed"
REASONS = {
    400: "Bad Request",
    401: "Requires authentication",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    422: "Validation Failed",
    500: "Server Error",
    503: "Service Unavailable",
}


@dataclass
class GitHubCall:
    operation: str  # "issues.create", ...; "unknown" for a route the fake does not serve
    verb: str
    path: str  # as sent (percent-encoded)
    params: dict[str, str]  # the path parameters, decoded ("owner", "repo", "number", "name")
    query: dict[str, str]
    body: Any  # the JSON body (None: none)
    headers: dict[str, str]  # names lower-cased
    token: str | None
    injected: str | None = None  # the injected failure's kind ("status:403", "hang", ...)
    status: int | None = None  # HTTP status answered (None: not answered)
    response: Any = None  # the JSON answered, if any
    applied: Any = None  # with fail_next(..., apply=True): the answer the failure replaced


class GitHubError(Exception):
    def __init__(self, status: int, message: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message or REASONS.get(status, "Error")
        self.extra = extra

    def reply_body(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "documentation_url": DOCS,
            "status": str(self.status),
            **self.extra,
        }


_Route = tuple[str, re.Pattern[str], str]
_SEGMENT = r"[^/]+"
_REPO = rf"/repos/(?P<owner>{_SEGMENT})/(?P<repo>{_SEGMENT})"
_ISSUE = _REPO + r"/issues/(?P<number>[0-9]+)"
ROUTES: list[_Route] = [
    ("POST", re.compile(_REPO + r"/issues"), "issues.create"),
    ("GET", re.compile(_REPO + r"/issues"), "issues.list_for_repo"),
    ("GET", re.compile(_ISSUE), "issues.get"),
    ("PATCH", re.compile(_ISSUE), "issues.update"),
    ("GET", re.compile(_ISSUE + r"/labels"), "issues.list_labels_on_issue"),
    ("POST", re.compile(_ISSUE + r"/labels"), "issues.add_labels"),
    ("PUT", re.compile(_ISSUE + r"/labels"), "issues.set_labels"),
    ("DELETE", re.compile(_ISSUE + r"/labels"), "issues.remove_all_labels"),
    ("DELETE", re.compile(_ISSUE + rf"/labels/(?P<name>{_SEGMENT})"), "issues.remove_label"),
    ("GET", re.compile(_ISSUE + r"/comments"), "issues.list_comments"),
    ("POST", re.compile(_ISSUE + r"/comments"), "issues.create_comment"),
    ("POST", re.compile(_ISSUE + r"/assignees"), "issues.add_assignees"),
    ("DELETE", re.compile(_ISSUE + r"/assignees"), "issues.remove_assignees"),
    ("GET", re.compile(_REPO + r"/labels"), "issues.list_labels_for_repo"),
    ("GET", re.compile(r"/search/issues"), "search.issues"),
    ("GET", re.compile(r"/rate_limit"), "rate_limit.get"),
    (
        "POST",
        re.compile(r"/app/installations/(?P<installation_id>[0-9]+)/access_tokens"),
        "apps.create_installation_access_token",
    ),
]
# Operations authenticated by the App's JWT, not by a token.
JWT_OPERATIONS = ("apps.create_installation_access_token",)

_QUERY_TERM = re.compile(r'(-?)([a-z_]+):(?:"([^"]*)"|(\S+))|"([^"]*)"|(\S+)')


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _label_names(value: Any) -> list[str]:
    """`["a", "b"]`, `[{"name": "a"}]` or `{"labels": [...]}`, as GitHub accepts them."""
    if isinstance(value, dict):
        value = value.get("labels")
    if value is None:
        return []
    if not isinstance(value, list):
        raise GitHubError(422, "Invalid request.\n\nFor 'labels', expected an array.")
    names = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name.strip():
            raise GitHubError(422, "Invalid request.\n\nA label name must be a non-empty string.")
        names.append(name.strip())
    return names


_IssueTest = Callable[[dict[str, Any], dict[str, Any]], bool]  # (repo, issue) -> matches


def _contains(text: str) -> _IssueTest:
    def test(_repo: dict[str, Any], issue: dict[str, Any]) -> bool:
        return text in f"{issue['title']}\n{issue['body'] or ''}".casefold()

    return test


def _negated(test: _IssueTest) -> _IssueTest:
    return lambda repo, issue: not test(repo, issue)


class GitHubFake(FakeHttpServer):
    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        login: str = "ceres-bot",
        hang_seconds: float = 30.0,
        clock: Callable[[], str] = _now,
    ) -> None:
        super().__init__(hang_seconds=hang_seconds)
        self.token = token
        self.tokens = {token}
        self.installation_tokens: list[str] = []
        self._apps: dict[str, tuple[str, set[int]]] = {}  # app id -> (public key, installations)
        self.login = login
        self.clock = clock  # ISO 8601 UTC timestamps for created_at / updated_at
        self.requests: list[GitHubCall] = []
        self._repos: dict[tuple[str, str], dict[str, Any]] = {}
        self._ids = itertools.count(1_000_001)
        self._call_count = 0
        self._handlers: dict[str, Callable[[GitHubCall], tuple[int, Any]]] = {
            "issues.create": self._create_issue,
            "issues.get": self._get_issue,
            "issues.update": self._update_issue,
            "issues.list_labels_on_issue": self._list_issue_labels,
            "issues.add_labels": self._add_labels,
            "issues.set_labels": self._set_labels,
            "issues.remove_all_labels": self._remove_all_labels,
            "issues.remove_label": self._remove_label,
            "issues.list_comments": self._list_comments,
            "issues.create_comment": self._create_comment,
            "issues.list_labels_for_repo": self._list_repo_labels,
            "search.issues": self._search_issues,
            "rate_limit.get": self._rate_limit,
            "issues.list_for_repo": self._list_repo_issues,
            "issues.add_assignees": self._add_assignees,
            "issues.remove_assignees": self._remove_assignees,
            "apps.create_installation_access_token": self._installation_token,
        }

    def start(self) -> GitHubFake:
        super().start()
        return self

    def __enter__(self) -> GitHubFake:
        return self.start()

    def client(self, token: str | None = None, **options: Any) -> GitHub[TokenAuthStrategy]:
        """A githubkit client on this fake: no automatic retries, no HTTP cache (its client
        drops the timeout), no proxy from the environment, a 5 s timeout (each overridable).
        Keep a reference to it: `client.rest` holds the client only weakly."""
        from githubkit import GitHub

        settings: dict[str, Any] = {
            "auto_retry": False,
            "http_cache": False,
            "trust_env": False,
            "timeout": 5.0,
        }
        settings.update(options)
        return GitHub(token or self.token, base_url=self.url, **settings)

    # --- the test's tables and assertions -------------------------------------------------

    def add_repo(self, owner: str, name: str) -> dict[str, Any]:
        repo_id = next(self._ids)
        repo = {
            "id": repo_id,
            "node_id": f"R_fake{repo_id}",
            "name": name,
            "full_name": f"{owner}/{name}",
            "owner": self._user(owner),
            "html_url": f"https://github.com/{owner}/{name}",
            "url": f"{self.url}/repos/{owner}/{name}",
            "labels": {},  # casefolded name -> label
            "issues": {},  # number -> issue (stored form: label names, assignee logins)
            "comments": {},  # number -> [comment]
        }
        with self._lock:
            self._repos[(owner.lower(), name.lower())] = repo
        return repo

    def add_app(self, app_id: int | str, public_key_pem: str, installation_id: int) -> None:
        """A GitHub App whose JWTs (signed by the private key of `public_key_pem`) may ask
        for tokens of `installation_id`."""
        with self._lock:
            _, installations = self._apps.get(str(app_id), (public_key_pem, set()))
            self._apps[str(app_id)] = (public_key_pem, {*installations, installation_id})

    def add_label(
        self, owner: str, repo: str, name: str, *, color: str = "ededed", description: str = ""
    ) -> dict[str, Any]:
        with self._lock:
            label = self._label(self._repo(owner, repo), name)
            label["color"] = color
            label["description"] = description or None
            return dict(label)

    def issue(self, owner: str, repo: str, number: int) -> dict[str, Any]:
        """The issue as GitHub would answer it now (KeyError: no such issue)."""
        with self._lock:
            found = self._repo(owner, repo)["issues"].get(number)
            if found is None:
                raise KeyError((owner, repo, number))
            return self._issue_json(self._repo(owner, repo), found)

    def comments(self, owner: str, repo: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._repo(owner, repo)["comments"].get(number, []))

    def labels(self, owner: str, repo: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._repo(owner, repo)["labels"].values()))

    def calls(self, operation: str | None = None) -> list[GitHubCall]:
        with self._lock:
            return [c for c in self.requests if operation is None or c.operation == operation]

    # --- failure injection ----------------------------------------------------------------

    def fail_next(
        self,
        operation: str,
        status: int | None = None,
        *,
        retry_after: int | None = None,
        rate_limit: str | None = "secondary",
        reset_in: int = 60,
        message: str | None = None,
        hang: bool | float = False,
        drop: bool = False,
        apply: bool = False,
        times: int | None = 1,
    ) -> None:
        """The next `times` calls to `operation` ("*": any) fail. `status` 403 or 429 is a rate
        limit: `rate_limit="secondary"` (the default) answers GitHub's secondary-limit message
        with `Retry-After` (`retry_after`, 60 by default); `rate_limit="primary"` answers "API
        rate limit exceeded" with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` `reset_in`
        seconds ahead (and Retry-After only if given); `rate_limit=None` a plain error with
        `message`. Another status answers `{"message": message or its reason}` (502: an HTML
        page, as GitHub's front end sends). `hang=True` (or seconds): no answer until
        `hang_seconds` pass or the server stops; `drop=True`: the connection closed unanswered.
        `apply=True`: the call takes effect first, then fails as asked."""
        limited = status in (403, 429) and rate_limit is not None
        if rate_limit not in (None, "primary", "secondary"):
            raise ValueError("rate_limit is 'primary', 'secondary' or None")
        if limited and rate_limit == "secondary" and retry_after is None:
            retry_after = 60
        failure = Failure(
            status=status,
            message=message,
            retry_after=retry_after,
            hang=self.hang_for(hang, self.hang_seconds),
            drop=drop,
            apply=apply,
            remaining=times,
            rate_limit=rate_limit if limited else None,
        )
        if limited and rate_limit == "primary":
            failure.headers = self._rate_headers(remaining=0, reset=int(time.time()) + reset_in)
        self.add_failure(operation, failure)

    def failure_reply(self, failure: Failure) -> Reply:
        status = failure.status or 500
        if failure.rate_limit == "secondary":
            body = {
                "message": failure.message or SECONDARY_MESSAGE,
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-"
                "rest-api#about-secondary-rate-limits",
            }
            return Reply.json(status, body, self._rate_headers())
        if failure.rate_limit == "primary":
            body = {
                "message": failure.message or "API rate limit exceeded for user ID 1000000.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-"
                "rest-api#about-primary-rate-limits",
            }
            return Reply.json(status, body)  # + the headers fail_next gave it
        if status == 502 and failure.message is None:
            return Reply(
                502,
                b"<html><body><h1>502 Bad Gateway</h1>Unicorn!</body></html>",
                {"Content-Type": "text/html"},
            )
        return Reply.json(status, GitHubError(status, failure.message).reply_body())

    def _rate_headers(
        self, *, remaining: int | None = None, reset: int | None = None
    ) -> dict[str, str]:
        used = min(self._call_count, 5000)
        return {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(5000 - used if remaining is None else remaining),
            "x-ratelimit-reset": str(reset if reset is not None else int(time.time()) + 3600),
            "x-ratelimit-used": str(used if remaining is None else 5000),
            "x-ratelimit-resource": "core",
            "x-github-api-version-selected": "2022-11-28",
        }

    # --- serving --------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> Reply | None:
        operation, params = "unknown", {}
        for verb, pattern, name in ROUTES:
            match = pattern.fullmatch(request.path.rstrip("/") or "/")
            if verb == request.verb and match:
                operation = name
                params = {k: unquote(v) for k, v in match.groupdict().items()}
                break
        body: Any = None
        bad_json = False
        if request.body:
            try:
                body = json.loads(request.body)
            except ValueError:
                bad_json = True
        authorization = request.headers.get("authorization", "")
        scheme, _, credential = authorization.partition(" ")
        token = credential.strip() if scheme.lower() in ("bearer", "token") else None
        call = GitHubCall(
            operation,
            request.verb,
            request.path,
            params,
            request.query,
            body,
            request.headers,
            token,
        )
        with self._lock:
            self.requests.append(call)
            self._call_count += 1

        failure = self.take_failure(operation)
        if failure is not None:
            call.injected = failure.kind
            if failure.apply:  # GitHub did the work; the answer is what gets lost
                call.applied = self._answer(call, bad_json)[1]
            reply = self.apply_failure(failure)
            if reply is not None:
                call.status = reply.status
                call.response = reply.decoded()
            return reply

        status, answer = self._answer(call, bad_json)
        call.status = status
        call.response = answer
        if status == 204:
            return Reply(204, b"", self._rate_headers())
        return Reply.json(status, answer, self._rate_headers())

    def _answer(self, call: GitHubCall, bad_json: bool) -> tuple[int, Any]:
        try:
            if call.token is None:
                raise GitHubError(401, "Requires authentication")
            if call.token not in self.tokens and call.operation not in JWT_OPERATIONS:
                raise GitHubError(401, "Bad credentials")
            handler = self._handlers.get(call.operation)
            if handler is None:
                raise GitHubError(404, "Not Found")
            if bad_json:
                raise GitHubError(400, "Problems parsing JSON")
            with self._lock:
                return handler(call)
        except GitHubError as e:
            return e.status, e.reply_body()

    # --- the operations (called with the lock held) ---------------------------------------

    def _user(self, login: str) -> dict[str, Any]:
        user_id = 1_000_000 + sum(ord(c) * 31**i for i, c in enumerate(login)) % 9_000_000
        return {
            "login": login,
            "id": user_id,
            "node_id": f"U_fake{user_id}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
            "gravatar_id": "",
            "url": f"{self.url}/users/{login}",
            "html_url": f"https://github.com/{login}",
            "followers_url": f"{self.url}/users/{login}/followers",
            "following_url": f"{self.url}/users/{login}/following{{/other_user}}",
            "gists_url": f"{self.url}/users/{login}/gists{{/gist_id}}",
            "starred_url": f"{self.url}/users/{login}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{self.url}/users/{login}/subscriptions",
            "organizations_url": f"{self.url}/users/{login}/orgs",
            "repos_url": f"{self.url}/users/{login}/repos",
            "events_url": f"{self.url}/users/{login}/events{{/privacy}}",
            "received_events_url": f"{self.url}/users/{login}/received_events",
            "type": "Bot" if login.endswith("-bot") else "User",
            "site_admin": False,
        }

    def _repo(self, owner: str, name: str) -> dict[str, Any]:
        repo = self._repos.get((owner.lower(), name.lower()))
        if repo is None:
            raise GitHubError(404, "Not Found")
        return repo

    def _label(self, repo: dict[str, Any], name: str) -> dict[str, Any]:
        """The repository's label of that name (any case), created when first used."""
        label: dict[str, Any] | None = repo["labels"].get(name.casefold())
        if label is None:
            label_id = next(self._ids)
            label = {
                "id": label_id,
                "node_id": f"LA_fake{label_id}",
                "url": f"{repo['url']}/labels/{name}",
                "name": name,
                "color": AUTO_LABEL_COLOR,
                "default": False,
                "description": None,
                "archived_at": None,
                "archived_by": None,
            }
            repo["labels"][name.casefold()] = label
        return label

    def _issue_at(self, call: GitHubCall) -> tuple[dict[str, Any], dict[str, Any]]:
        repo = self._repo(call.params["owner"], call.params["repo"])
        issue = repo["issues"].get(int(call.params["number"]))
        if issue is None:
            raise GitHubError(404, "Not Found")
        return repo, issue

    def _issue_json(self, repo: dict[str, Any], issue: dict[str, Any]) -> dict[str, Any]:
        answer = copy.deepcopy(issue)
        answer["labels"] = [dict(self._label(repo, n)) for n in issue["labels"]]
        answer["assignees"] = [self._user(login) for login in issue["assignees"]]
        answer["assignee"] = answer["assignees"][0] if answer["assignees"] else None
        answer["comments"] = len(repo["comments"].get(issue["number"], []))
        return answer

    def _labels_json(self, repo: dict[str, Any], issue: dict[str, Any]) -> list[dict[str, Any]]:
        return [dict(self._label(repo, n)) for n in issue["labels"]]

    def _body(self, call: GitHubCall) -> dict[str, Any]:
        if call.body is None:
            return {}
        if not isinstance(call.body, dict):
            raise GitHubError(400, "Problems parsing JSON")
        return call.body

    def _use_labels(self, repo: dict[str, Any], names: list[str]) -> list[str]:
        """Canonical names (the repository's spelling), created if new, duplicates dropped."""
        result: list[str] = []
        for name in names:
            canonical = self._label(repo, name)["name"]
            if canonical not in result:
                result.append(canonical)
        return result

    @staticmethod
    def _logins(value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise GitHubError(422, "Invalid request.\n\nFor 'assignees', expected an array.")
        return list(dict.fromkeys(value))

    def _create_issue(self, call: GitHubCall) -> tuple[int, Any]:
        repo = self._repo(call.params["owner"], call.params["repo"])
        body = self._body(call)
        title = body.get("title")
        if isinstance(title, int):
            title = str(title)
        if not isinstance(title, str) or not title.strip():
            raise GitHubError(422, 'Invalid request.\n\n"title" wasn\'t supplied.')
        number = len(repo["issues"]) + 1
        issue_id = next(self._ids)
        now = self.clock()
        base = f"{repo['url']}/issues/{number}"
        assignees = self._logins(body.get("assignees"))
        if body.get("assignee"):
            assignees = [str(body["assignee"]), *assignees]
        issue = {
            "id": issue_id,
            "node_id": f"I_fake{issue_id}",
            "url": base,
            "repository_url": repo["url"],
            "labels_url": base + "/labels{/name}",
            "comments_url": base + "/comments",
            "events_url": base + "/events",
            "html_url": f"{repo['html_url']}/issues/{number}",
            "number": number,
            "state": "open",
            "state_reason": None,
            "title": title,
            "body": body.get("body"),
            "user": self._user(self.login),
            "labels": self._use_labels(repo, _label_names(body.get("labels"))),
            "assignees": list(dict.fromkeys(assignees)),
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": 0,
            "closed_at": None,
            "created_at": now,
            "updated_at": now,
            "closed_by": None,
            "author_association": "NONE",
        }
        repo["issues"][number] = issue
        return 201, self._issue_json(repo, issue)

    def _get_issue(self, call: GitHubCall) -> tuple[int, Any]:
        repo, issue = self._issue_at(call)
        return 200, self._issue_json(repo, issue)

    def _update_issue(self, call: GitHubCall) -> tuple[int, Any]:
        repo, issue = self._issue_at(call)
        body = self._body(call)
        if "title" in body:
            if not isinstance(body["title"], str) or not body["title"].strip():
                raise GitHubError(422, "Validation Failed")
            issue["title"] = body["title"]
        if "body" in body:
            issue["body"] = body["body"]
        if "labels" in body:
            issue["labels"] = self._use_labels(repo, _label_names(body["labels"]))
        if "assignees" in body:
            issue["assignees"] = self._logins(body["assignees"])
        if "state" in body:
            state = body["state"]
            if state not in ("open", "closed"):
                raise GitHubError(422, "Validation Failed")
            if state == "closed" and issue["state"] == "open":
                issue["closed_at"] = self.clock()
                issue["closed_by"] = self._user(self.login)
                issue["state_reason"] = body.get("state_reason") or "completed"
            elif state == "open" and issue["state"] == "closed":
                issue["closed_at"] = None
                issue["closed_by"] = None
                issue["state_reason"] = "reopened"
            issue["state"] = state
        issue["updated_at"] = self.clock()
        return 200, self._issue_json(repo, issue)

    def _list_issue_labels(self, call: GitHubCall) -> tuple[int, Any]:
        repo, issue = self._issue_at(call)
        return 200, self._labels_json(repo, issue)

    def _add_labels(self, call: GitHubCall) -> tuple[int, Any]:
        repo, issue = self._issue_at(call)
        issue["labels"] = self._use_labels(repo, [*issue["labels"], *_label_names(call.body)])
        issue["updated_at"] = self.clock()
        return 200, self._labels_json(repo, issue)

    def _set_labels(self, call: GitHubCall) -> tuple[int, Any]:
        repo, issue = self._issue_at(call)
        issue["labels"] = self._use_labels(repo, _label_names(call.body))
        issue["updated_at"] = self.clock()
        return 200, self._labels_json(repo, issue)

    def _remove_all_labels(self, call: GitHubCall) -> tuple[int, Any]:
        _, issue = self._issue_at(call)
        issue["labels"] = []
        issue["updated_at"] = self.clock()
        return 204, None

    def _remove_label(self, call: GitHubCall) -> tuple[int, Any]:
        repo, issue = self._issue_at(call)
        name = call.params["name"].casefold()
        kept = [n for n in issue["labels"] if n.casefold() != name]
        if len(kept) == len(issue["labels"]):
            raise GitHubError(404, "Label does not exist")
        issue["labels"] = kept
        issue["updated_at"] = self.clock()
        return 200, self._labels_json(repo, issue)

    def _list_comments(self, call: GitHubCall) -> tuple[int, Any]:
        repo, issue = self._issue_at(call)
        comments = repo["comments"].get(issue["number"], [])
        since = self._since(call)
        found = [c for c in comments if since is None or _parse_time(c["updated_at"]) >= since]
        return 200, copy.deepcopy(self._page(call, found))

    @staticmethod
    def _since(call: GitHubCall) -> datetime | None:
        raw = call.query.get("since")
        if not raw:
            return None
        try:
            return _parse_time(raw)
        except ValueError:
            raise GitHubError(422, "Validation Failed") from None

    @staticmethod
    def _page(call: GitHubCall, items: list[Any]) -> list[Any]:
        try:
            per_page = max(1, min(int(call.query.get("per_page") or 30), 100))
            page = max(1, int(call.query.get("page") or 1))
        except ValueError:
            raise GitHubError(422, "Validation Failed") from None
        return items[(page - 1) * per_page : page * per_page]

    def _list_repo_issues(self, call: GitHubCall) -> tuple[int, Any]:
        repo = self._repo(call.params["owner"], call.params["repo"])
        state = call.query.get("state") or "open"
        sort = call.query.get("sort") or "created"
        direction = call.query.get("direction") or "desc"
        if state not in ("open", "closed", "all") or sort not in ("created", "updated", "comments"):
            raise GitHubError(422, "Validation Failed")
        if direction not in ("asc", "desc"):
            raise GitHubError(422, "Validation Failed")
        since = self._since(call)
        found = [
            issue
            for issue in repo["issues"].values()
            if (state == "all" or issue["state"] == state)
            and (since is None or _parse_time(issue["updated_at"]) >= since)
        ]

        def key(issue: dict[str, Any]) -> tuple[Any, int]:
            if sort == "comments":
                return len(repo["comments"].get(issue["number"], [])), issue["id"]
            return issue[f"{sort}_at"], issue["id"]

        found.sort(key=key, reverse=direction == "desc")
        return 200, [self._issue_json(repo, issue) for issue in self._page(call, found)]

    def _add_assignees(self, call: GitHubCall) -> tuple[int, Any]:
        repo, issue = self._issue_at(call)
        logins = self._logins(self._body(call).get("assignees"))
        issue["assignees"] = list(dict.fromkeys([*issue["assignees"], *logins]))
        issue["updated_at"] = self.clock()
        return 201, self._issue_json(repo, issue)

    def _remove_assignees(self, call: GitHubCall) -> tuple[int, Any]:
        repo, issue = self._issue_at(call)
        gone = {login.casefold() for login in self._logins(self._body(call).get("assignees"))}
        issue["assignees"] = [a for a in issue["assignees"] if a.casefold() not in gone]
        issue["updated_at"] = self.clock()
        return 200, self._issue_json(repo, issue)

    def _installation_token(self, call: GitHubCall) -> tuple[int, Any]:
        import jwt

        try:
            claims = jwt.decode(call.token or "", options={"verify_signature": False})
            public_key, installations = self._apps[str(claims.get("iss"))]
            jwt.decode(call.token or "", public_key, algorithms=["RS256"])
        except (jwt.PyJWTError, KeyError):
            raise GitHubError(401, "A JSON web token could not be decoded") from None
        if int(call.params["installation_id"]) not in installations:
            raise GitHubError(404, "Not Found")
        token = f"ghs_fake{next(self._ids)}"
        self.tokens.add(token)
        self.installation_tokens.append(token)
        expires = datetime.fromtimestamp(time.time() + 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return 201, {
            "token": token,
            "expires_at": expires,
            "permissions": {"issues": "write", "metadata": "read"},
            "repository_selection": "all",
        }

    def _create_comment(self, call: GitHubCall) -> tuple[int, Any]:
        repo, issue = self._issue_at(call)
        text = self._body(call).get("body")
        if not isinstance(text, str) or not text:
            raise GitHubError(422, 'Invalid request.\n\n"body" wasn\'t supplied.')
        comment_id = next(self._ids)
        now = self.clock()
        comment = {
            "id": comment_id,
            "node_id": f"IC_fake{comment_id}",
            "url": f"{repo['url']}/issues/comments/{comment_id}",
            "html_url": f"{issue['html_url']}#issuecomment-{comment_id}",
            "body": text,
            "user": self._user(self.login),
            "created_at": now,
            "updated_at": now,
            "issue_url": issue["url"],
            "author_association": "NONE",
        }
        repo["comments"].setdefault(issue["number"], []).append(comment)
        issue["updated_at"] = now
        return 201, copy.deepcopy(comment)

    def _list_repo_labels(self, call: GitHubCall) -> tuple[int, Any]:
        repo = self._repo(call.params["owner"], call.params["repo"])
        return 200, copy.deepcopy(list(repo["labels"].values()))

    def _search_issues(self, call: GitHubCall) -> tuple[int, Any]:
        q = call.query.get("q", "")
        if not q.strip():
            missing = {"resource": "Search", "field": "q", "code": "missing"}
            raise GitHubError(422, "Validation Failed", errors=[missing])
        tests: list[_IssueTest] = []
        repos = list(self._repos.values())
        for match in _QUERY_TERM.finditer(q):
            negated, key, quoted, bare, phrase, word = match.groups()
            if key is None:
                tests.append(_contains((phrase if phrase is not None else word).casefold()))
                continue
            value = quoted if quoted is not None else bare
            test = self._qualifier(key, value.casefold(), q)
            if key == "repo":
                repos = [r for r in repos if r["full_name"].casefold() == value.casefold()]
            elif negated:
                tests.append(_negated(test))
            else:
                tests.append(test)
        found = [
            (repo, issue)
            for repo in repos
            for issue in repo["issues"].values()
            if all(t(repo, issue) for t in tests)
        ]
        key = call.query.get("sort", "created")
        if key not in ("created", "updated"):
            key = "created"
        found.sort(
            key=lambda ri: (ri[1][f"{key}_at"], ri[1]["id"]),
            reverse=call.query.get("order", "desc") != "asc",
        )
        per_page = max(1, min(int(call.query.get("per_page") or 30), 100))
        page = max(1, int(call.query.get("page") or 1))
        items = [
            {**self._issue_json(repo, issue), "score": 1.0}
            for repo, issue in found[(page - 1) * per_page : page * per_page]
        ]
        return 200, {
            "total_count": len(found),
            "incomplete_results": False,
            "search_type": "lexical",
            "items": items,
        }

    @staticmethod
    def _qualifier(key: str, value: str, q: str) -> _IssueTest:
        if key == "repo":
            return lambda _r, _i: True
        if key == "label":
            return lambda _r, i: value in (n.casefold() for n in i["labels"])
        if (key, value) in (("is", "issue"), ("type", "issue")):
            return lambda _r, _i: True
        if (key, value) in (("is", "pr"), ("type", "pr")):
            return lambda _r, _i: False
        if key in ("is", "state") and value in ("open", "closed"):
            return lambda _r, i: bool(i["state"] == value)
        if (key, value) == ("no", "label"):
            return lambda _r, i: not i["labels"]
        raise GitHubError(
            422,
            "Validation Failed",
            errors=[
                {
                    "message": f"the GitHub fake does not understand {key}:{value} in {q!r}",
                    "resource": "Search",
                    "field": "q",
                    "code": "invalid",
                }
            ],
        )

    def _rate_limit(self, call: GitHubCall) -> tuple[int, Any]:
        headers = self._rate_headers()
        core = {
            "limit": 5000,
            "remaining": int(headers["x-ratelimit-remaining"]),
            "reset": int(headers["x-ratelimit-reset"]),
            "used": int(headers["x-ratelimit-used"]),
        }
        search = {"limit": 30, "remaining": 30, "reset": int(time.time()) + 60, "used": 0}
        return 200, {"resources": {"core": core, "search": search}, "rate": core}
