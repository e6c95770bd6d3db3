from __future__ import annotations

from typing import Annotated

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from ceres.core.apisupport import (
    BodySchema,
    InputSchema,
    PageNumber,
    PageSize,
    RecordId,
    omittable,
    paginate,
    request_user,
)
from ceres.core.errors import NotAuthenticated, PermissionDenied
from ceres.team import selectors, services
from ceres.team.models import Person

router = Router(tags=["team"])


class PersonOut(Schema):
    id: int
    username: str
    name: str
    role: str
    role_name: str
    email: str
    github_login: str
    slack_user_id: str
    phone: str
    timezone: str
    working_hours: dict[str, list[str]]
    withheld_permissions: list[str]
    is_active: bool


class PersonPage(Schema):
    items: list[PersonOut]
    count: int
    page: int
    page_size: int


# The lengths are the columns': PostgreSQL refuses a longer text, SQLite would keep it.
PersonName = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(min_length=1, max_length=254)]
RoleKey = Annotated[str, Field(min_length=1, max_length=50)]
GithubLogin = Annotated[str, Field(max_length=40, description="with or without the @")]
SlackUserId = Annotated[str, Field(max_length=20)]
Phone = Annotated[str, Field(max_length=20, description="E.164, e.g. +15555550100")]
TimeZone = Annotated[str, Field(min_length=1, max_length=64, description="an IANA time zone")]
WorkingHours = Annotated[
    dict[str, list[Annotated[str, Field(max_length=11)]]],
    Field(
        description='{"mon": ["09:00-12:00", "13:00-17:00"], ...} (mon to sun), in the '
        "person's time zone"
    ),
]
PermissionName = Annotated[str, Field(max_length=200)]


class PersonIn(BodySchema):
    name: PersonName
    email: Email
    role: RoleKey
    username: Annotated[str, Field(min_length=1, max_length=150)] | None = None
    github_login: GithubLogin = ""
    slack_user_id: SlackUserId = ""
    phone: Phone = ""
    timezone: TimeZone = "UTC"
    working_hours: WorkingHours = {}
    withheld_permissions: list[PermissionName] = []


class PersonPatch(BodySchema):
    """Left out: unchanged; never null (an empty text, {} or [] clears a field)."""

    name: PersonName = omittable()
    email: Email = omittable()
    role: RoleKey = omittable()
    github_login: GithubLogin = omittable()
    slack_user_id: SlackUserId = omittable()
    phone: Phone = omittable()
    timezone: TimeZone = omittable()
    working_hours: WorkingHours = omittable()
    withheld_permissions: list[PermissionName] = omittable()
    is_active: bool = omittable()


class RoleOut(Schema):
    key: str
    name: str
    permissions: list[str]


class TokenIn(BodySchema):
    name: Annotated[str, Field(min_length=1, max_length=100)]


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    token: str


def person_out(person: Person) -> PersonOut:
    return PersonOut(
        id=person.pk,
        username=person.user.username,
        name=person.name,
        role=person.role.key,
        role_name=person.role.name,
        email=person.email,
        github_login=person.github_login,
        slack_user_id=person.slack_user_id,
        phone=person.phone,
        timezone=person.timezone,
        working_hours=person.working_hours,
        withheld_permissions=person.withheld_permissions,
        is_active=person.is_active,
    )


class PeopleFilters(InputSchema):
    q: Annotated[str, Field(max_length=200)] = ""
    role: Annotated[str, Field(max_length=50)] = ""
    page: PageNumber = 1
    page_size: PageSize = 50


@router.get("/people", response=PersonPage, summary="The team directory")
def list_people(request: HttpRequest, filters: Query[PeopleFilters]) -> PersonPage:
    qs = selectors.people(q=filters.q, role=filters.role)
    page = paginate(qs, page=filters.page, page_size=filters.page_size)
    return PersonPage(
        items=[person_out(p) for p in page.items],
        count=page.count,
        page=page.page,
        page_size=page.page_size,
    )


@router.get("/people/{person_id}", response=PersonOut)
def get_person(request: HttpRequest, person_id: RecordId) -> PersonOut:
    return person_out(selectors.get_person(person_id))


def _require(request: HttpRequest, perm: str) -> None:
    if not request_user(request).has_perm(perm):
        raise PermissionDenied(f"you need the permission {perm}")


@router.post("/people", response={201: PersonOut})
def create_person(request: HttpRequest, payload: PersonIn) -> tuple[int, PersonOut]:
    _require(request, "team.add_person")
    person = services.create_person(actor=request_user(request), **payload.model_dump())
    return 201, person_out(person)


@router.patch("/people/{person_id}", response=PersonOut)
def update_person(request: HttpRequest, person_id: RecordId, payload: PersonPatch) -> PersonOut:
    _require(request, "team.change_person")
    person = selectors.get_person(person_id)
    changes = payload.model_dump(exclude_unset=True)
    return person_out(services.update_person(actor=request_user(request), person=person, **changes))


@router.get("/roles", response=list[RoleOut])
def list_roles(request: HttpRequest) -> list[RoleOut]:
    return [RoleOut(**r) for r in selectors.roles_with_permissions()]


@router.post("/tokens", response={201: TokenOut}, summary="Make a personal API token (shown once)")
def create_token(request: HttpRequest, payload: TokenIn) -> tuple[int, TokenOut]:
    user = request_user(request)
    if not isinstance(user, User):  # the router's auth lets only logged-in users through
        raise NotAuthenticated("log in to make a token", field="Authorization")
    row, token = services.create_api_token(actor=user, user=user, name=payload.name)
    return 201, TokenOut(id=row.pk, name=row.name, prefix=row.prefix, token=token)
