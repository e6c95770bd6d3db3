from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema

from ceres.core.apisupport import paginate, request_user
from ceres.core.errors import PermissionDenied
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


class PersonIn(Schema):
    name: str
    email: str
    role: str
    username: str | None = None
    github_login: str = ""
    slack_user_id: str = ""
    phone: str = ""
    timezone: str = "UTC"
    working_hours: dict[str, list[str]] = {}
    withheld_permissions: list[str] = []


class PersonPatch(Schema):
    name: str | None = None
    email: str | None = None
    role: str | None = None
    github_login: str | None = None
    slack_user_id: str | None = None
    phone: str | None = None
    timezone: str | None = None
    working_hours: dict[str, list[str]] | None = None
    withheld_permissions: list[str] | None = None
    is_active: bool | None = None


class RoleOut(Schema):
    key: str
    name: str
    permissions: list[str]


class TokenIn(Schema):
    name: str


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


class PeopleFilters(Schema):
    q: str = ""
    role: str = ""
    page: int = 1
    page_size: int = 50


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
def get_person(request: HttpRequest, person_id: int) -> PersonOut:
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
def update_person(request: HttpRequest, person_id: int, payload: PersonPatch) -> PersonOut:
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
    row, token = services.create_api_token(actor=user, user=user, name=payload.name)  # type: ignore[arg-type]
    return 201, TokenOut(id=row.pk, name=row.name, prefix=row.prefix, token=token)
