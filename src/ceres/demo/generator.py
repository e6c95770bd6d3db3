"""Realistic, reproducible demo accounts: the same seed gives the same companies."""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator

from ceres.accounts.imports import AccountRow, ContactRow
from ceres.accounts.models import Account, Product
from ceres.core.text import slug_label
from ceres.team.models import Person

_PREFIXES = (
    "North",
    "South",
    "Blue",
    "Red",
    "Silver",
    "Iron",
    "Cedar",
    "Harbor",
    "Summit",
    "Granite",
    "Maple",
    "Pioneer",
    "Atlas",
    "Beacon",
    "Crescent",
    "Delta",
    "Evergreen",
    "Falcon",
    "Golden",
    "Highland",
    "Juniper",
    "Keystone",
    "Liberty",
    "Meridian",
    "Nimbus",
    "Orchid",
    "Pinnacle",
    "Quarry",
    "Redwood",
    "Sierra",
    "Tidewater",
    "Union",
    "Vantage",
    "Willow",
    "Zephyr",
    "Arcadia",
    "Bright",
    "Coastal",
    "Dynamo",
    "Ember",
    "Frontier",
    "Glacier",
    "Horizon",
    "Insight",
    "Jade",
)
_CORES = (
    "Robotics",
    "Health",
    "Logistics",
    "Analytics",
    "Systems",
    "Bank",
    "Insurance",
    "Energy",
    "Foods",
    "Media",
    "Labs",
    "Networks",
    "Pharma",
    "Software",
    "Retail",
    "Capital",
    "Motors",
    "Aerospace",
    "Telecom",
    "Biotech",
    "Studios",
    "Security",
    "Freight",
    "Utilities",
    "Devices",
    "Learning",
    "Hospitality",
    "Construction",
    "Semiconductors",
    "Payments",
    "Clinics",
    "Airlines",
)
_MIDDLES = ("", "", "", "", "Bay", "Point", "Ridge", "Stone", "Field", "Gate", "Park", "Valley")
_SUFFIXES = ("Inc.", "LLC", "Group", "Corp.", "Co.", "Holdings", "GmbH", "Ltd", "SA", "", "", "")
_FIRST = (
    "Alex",
    "Blake",
    "Casey",
    "Dana",
    "Elliot",
    "Frankie",
    "Gray",
    "Harper",
    "Indy",
    "Jordan",
    "Kai",
    "Logan",
    "Morgan",
    "Noor",
    "Oakley",
    "Parker",
    "Quinn",
    "Reese",
    "Sasha",
    "Taylor",
    "Uma",
    "Val",
    "Wren",
    "Yael",
    "Zion",
    "Amara",
    "Bruno",
    "Chidi",
    "Dmitri",
    "Esme",
    "Femi",
)
_LAST = (
    "Abbott",
    "Baker",
    "Castillo",
    "Dubois",
    "Eze",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Mensah",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quintero",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Uddin",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Moreau",
    "Silva",
)
_TITLES = {
    "champion": ("IT Director", "Head of Endpoint Engineering", "Security Engineering Manager"),
    "dri": ("Staff Systems Engineer", "Client Platform Lead", "IT Operations Manager"),
    "admin": ("Systems Administrator", "Desktop Engineer", "Site Reliability Engineer"),
    "billing": ("Procurement Specialist", "Accounts Payable", "Finance Manager"),
}


def company_names(rng: random.Random) -> Iterator[str]:
    """Unique company names; a number is added once the combinations run out."""
    seen: set[str] = set()
    n = 0
    while True:
        n += 1
        first = rng.choice(_PREFIXES) + rng.choice(_MIDDLES).lower()
        parts = [first, rng.choice(_CORES), rng.choice(_SUFFIXES)]
        name = " ".join(p for p in parts if p)
        if name in seen:
            name = f"{rng.choice(_PREFIXES)} {rng.choice(_CORES)} {n}"
        if name in seen:
            continue
        seen.add(name)
        yield name


def account_rows(
    *,
    count: int,
    seed: int,
    products: dict[str, Product],
    csms: list[Person],
    today: datetime.date,
) -> list[AccountRow]:
    rng = random.Random(seed)
    names = company_names(rng)
    free, premium, mdm = products.get("free"), products.get("premium"), products.get("premium-mdm")
    rows: list[AccountRow] = []
    for _ in range(count):
        name = next(names)
        tier = rng.choices([free, premium, mdm], weights=[40, 45, 15])[0]
        prospect = rng.random() < 0.15
        hosts = int(rng.lognormvariate(6.5, 1.2))
        domain = slug_label(name).replace("-", "") + ".example"
        contacts = []
        for role in ("champion", "dri", "admin", "billing")[: rng.randint(1, 4)]:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            contacts.append(
                ContactRow(
                    name=f"{first} {last}",
                    role=role,
                    email=f"{first}.{last}@{domain}".lower(),
                    slack_user_id=f"U{rng.randrange(16**8):08X}" if tier is not free else "",
                    title=rng.choice(_TITLES[role]),
                )
            )
        rows.append(
            AccountRow(
                legal_name=name,
                kind=Account.Kind.PROSPECT if prospect else Account.Kind.CUSTOMER,
                product=tier,
                deployment=rng.choice(
                    [Account.Deployment.SELF_HOSTED, Account.Deployment.MANAGED_CLOUD]
                ),
                product_version=f"4.{rng.randint(40, 62)}.{rng.randint(0, 3)}",
                host_count=max(hosts, 5),
                slack_channel_id=f"C{rng.randrange(16**9):09X}" if tier is not free else "",
                crm_id=f"001{rng.randrange(36**12):012X}",
                csm_owner=rng.choice(csms) if csms and not prospect else None,
                renewal_date=(
                    None if prospect else today + datetime.timedelta(days=rng.randint(1, 365))
                ),
                contacts=contacts,
            )
        )
    return rows
