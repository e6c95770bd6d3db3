"""Checks that need the whole playbook or the database: references, duplicates, clashes.

Each check reports every problem it finds, with the path of the value to fix. Uniqueness is
checked against what the database will hold after the apply: the file's entries plus what the
database has that the file does not mention (kept, never deleted).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any

from ceres.accounts.services import INVITE_NEW_DRI
from ceres.core.errors import Invalid
from ceres.core.hours import WEEKDAYS, validate_weekly_hours
from ceres.playbook.errors import DocPath, Problem
from ceres.playbook.schema import PersonSpec, PlaybookSpec, StepSpec
from ceres.playbook.state import State
from ceres.team.permissions import ALL

# The checklists Ceres runs, by key. A template nobody runs would be accepted and do nothing.
KNOWN_CHECKLISTS = (INVITE_NEW_DRI,)
MAX_STEP_DEPTH = 2


def _duplicates(
    entries: Iterable[tuple[DocPath, str]], *, what: str, fold: Callable[[str], str] = str
) -> list[Problem]:
    """A problem for each value already used by an earlier entry of the file."""
    first: dict[str, DocPath] = {}
    problems = []
    for path, value in entries:
        if not value:
            continue
        seen = first.setdefault(fold(value), path)
        if seen != path:
            problems.append(Problem(path, f"{what} {value!r} is used twice", see=seen[:2]))
    return problems


def _roles(spec: PlaybookSpec, state: State) -> list[Problem]:
    roles = spec.roles or []
    problems = _duplicates(
        ((("roles", i, "key"), role.key) for i, role in enumerate(roles)), what="role key"
    )
    problems += _duplicates(
        ((("roles", i, "name"), role.name) for i, role in enumerate(roles)), what="role name"
    )
    in_file = {role.key for role in roles}
    kept_names = {r.name: r.key for r in state.roles.values() if r.key not in in_file}
    for i, role in enumerate(roles):
        if role.name in kept_names:
            problems.append(
                Problem(
                    ("roles", i, "name"),
                    f"{role.name!r} is the name of role {kept_names[role.name]!r}, "
                    "which is not in the playbook; role names must be unique",
                )
            )
        for j, name in enumerate(role.permissions):
            if name != ALL and name not in state.permissions:
                problems.append(
                    Problem(("roles", i, "permissions", j), _unknown_permission(name, state))
                )
    return problems


def _unknown_permission(name: str, state: State) -> str:
    message = f"unknown permission {name!r}"
    close = difflib.get_close_matches(name, state.permissions, n=1, cutoff=0.8)
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    app = name.split(".", 1)[0]
    same_app = sorted(p for p in state.permissions if p.startswith(f"{app}."))
    if same_app:
        return f"{message}; {app} permissions are: {', '.join(same_app)}"
    apps = sorted({p.split(".", 1)[0] for p in state.permissions})
    return (
        f"{message}; a permission is 'all' or APP.CODENAME of the apps {', '.join(apps)} "
        "(parts of Ceres not released yet have no permissions to grant yet)"
    )


def known_role_keys(spec: PlaybookSpec, state: State) -> list[str]:
    """The file's roles in its order, then the database's other roles."""
    keys = list(dict.fromkeys(role.key for role in spec.roles or []))
    return keys + [key for key in state.roles if key not in keys]


def new_username(person: PersonSpec) -> str:
    """The login a new person gets: the playbook's `username`, else the e-mail's local part."""
    return person.username or person.email.split("@", 1)[0]


def _people(spec: PlaybookSpec, state: State) -> list[Problem]:
    people = spec.people or []
    rows = list(enumerate(people))
    problems = _duplicates(
        ((("people", i, "email"), p.email) for i, p in rows), what="e-mail address"
    )
    problems += _duplicates(
        ((("people", i, "github"), p.github or "") for i, p in rows),
        what="GitHub login",
        fold=str.lower,
    )
    problems += _duplicates(
        ((("people", i, "slack"), p.slack or "") for i, p in rows), what="Slack user id"
    )
    roles = known_role_keys(spec, state)
    in_file = {p.email for p in people}
    kept_logins = {
        str(stored.fields["github_login"]).lower(): email
        for email, stored in state.people.items()
        if email not in in_file and stored.fields["github_login"]
    }
    for i, person in rows:
        if person.role not in roles:
            known = ", ".join(roles) or "none defined"
            problems.append(
                Problem(
                    ("people", i, "role"), f"unknown role {person.role!r}; known roles: {known}"
                )
            )
        login = (person.github or "").lower()
        if login in kept_logins:
            problems.append(
                Problem(
                    ("people", i, "github"),
                    f"GitHub login {person.github!r} belongs to {kept_logins[login]}, "
                    "who is not in the playbook",
                )
            )
        if person.working_hours is not None:
            problems += _working_hours(("people", i, "working_hours"), person.working_hours)
        for j, name in enumerate(person.withhold or ()):
            if name not in state.permissions:
                problems.append(
                    Problem(("people", i, "withhold", j), _unknown_permission(name, state))
                )
    return problems + _new_usernames(people, state)


def _new_usernames(people: list[PersonSpec], state: State) -> list[Problem]:
    """The logins the people new to the database would get must be free and distinct."""
    problems = []
    given: dict[str, int] = {}
    seen_emails: set[str] = set()
    for i, person in enumerate(people):
        if person.email in state.people or person.email in seen_emails:
            continue  # not new, or a duplicate e-mail (reported on its own)
        seen_emails.add(person.email)
        username = new_username(person)
        if person.username:
            path: DocPath = ("people", i, "username")
            advice = "choose another"
        else:
            path = ("people", i, "email")
            advice = "give this person a `username`"
        if username in state.usernames:
            problems.append(Problem(path, f"username {username!r} is taken; {advice}"))
        elif username in given:
            problems.append(
                Problem(
                    path,
                    f"username {username!r} would be given twice; {advice}",
                    see=("people", given[username]),
                )
            )
        given.setdefault(username, i)
    return problems


def _working_hours(path: DocPath, value: dict[str, Any]) -> list[Problem]:
    problems = []
    for day, spans in value.items():
        try:
            validate_weekly_hours({day: spans}, field=str(day))
        except Invalid as exc:
            message = exc.message
            if day in WEEKDAYS:
                message = message.removeprefix(f"{day}: ")
            problems.append(Problem((*path, day), message))
    return problems


def _products(spec: PlaybookSpec, state: State) -> list[Problem]:
    products = spec.products or []
    problems = _duplicates(
        ((("products", i, "key"), p.key) for i, p in enumerate(products)), what="product key"
    )
    problems += _duplicates(
        ((("products", i, "name"), p.name) for i, p in enumerate(products)), what="product name"
    )
    in_file = {p.key for p in products}
    kept_names = {p.name: p.key for p in state.products.values() if p.key not in in_file}
    for i, product in enumerate(products):
        if product.name in kept_names:
            problems.append(
                Problem(
                    ("products", i, "name"),
                    f"{product.name!r} is the name of product {kept_names[product.name]!r}, "
                    "which is not in the playbook; product names must be unique",
                )
            )
    return problems


def _steps(path: DocPath, steps: list[StepSpec], depth: int) -> list[Problem]:
    problems = []
    if not steps:
        problems.append(Problem(path, "must list at least one step"))
    for i, step in enumerate(steps):
        if step.steps and depth >= MAX_STEP_DEPTH:
            problems.append(
                Problem((*path, i, "steps"), f"steps nest at most {MAX_STEP_DEPTH + 1} levels")
            )
        elif step.steps:
            problems += _steps((*path, i, "steps"), step.steps, depth + 1)
    return problems


def _checklists(spec: PlaybookSpec) -> list[Problem]:
    problems = []
    for key, checklist in (spec.checklists or {}).items():
        if key not in KNOWN_CHECKLISTS:
            problems.append(
                Problem(
                    ("checklists", key),
                    f"unknown checklist {key!r}; Ceres runs: {', '.join(KNOWN_CHECKLISTS)}",
                )
            )
        problems += _steps(("checklists", key, "steps"), checklist.steps, 0)
    return problems


def check(spec: PlaybookSpec, state: State) -> list[Problem]:
    return _roles(spec, state) + _people(spec, state) + _products(spec, state) + _checklists(spec)
