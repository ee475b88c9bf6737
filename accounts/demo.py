"""Demo data of the accounts app, for `manage.py seed_demo`: the people of a small,
realistic selling organisation, and the customers (accounts and contacts) that the
demos of the layers above build their deals and hand-offs on."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.choices import Role
from accounts.models import Account, Contact, OrganisationSettings, Team, User
from accounts.services import account_create, contact_create

DEMO_PASSWORD = "baton-demo"  # noqa: S105 — printed on purpose: these are demo logins


@dataclass(frozen=True)
class DemoPerson:
    username: str
    first_name: str
    last_name: str
    role: str
    team: str
    timezone: str = "Europe/Paris"


DEMO_PEOPLE = [
    DemoPerson("maria", "Maria", "Lopez", Role.MANAGER, "Sales"),
    DemoPerson("rita", "Rita", "Novak", Role.REP, "Sales"),
    DemoPerson("sam", "Sam", "Okafor", Role.REP, "Sales", "Europe/London"),
    DemoPerson("oscar", "Oscar", "Berg", Role.MANAGER, "Delivery"),
    DemoPerson("dana", "Dana", "Kim", Role.DELIVERY, "Delivery"),
    DemoPerson("lee", "Lee", "Moreau", Role.DELIVERY, "Delivery", "America/New_York"),
    DemoPerson("ada", "Ada", "Admin", Role.ADMIN, "Sales"),
]


def seed_people() -> dict[str, User]:
    """Create the demo teams and users (idempotent); returns users by username."""
    OrganisationSettings.load()
    teams = {name: Team.objects.get_or_create(name=name)[0] for name in {person.team for person in DEMO_PEOPLE}}
    users: dict[str, User] = {}
    for person in DEMO_PEOPLE:
        user, created = User.objects.get_or_create(
            username=person.username,
            defaults={
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": f"{person.username}@baton.example",
                "role": person.role,
                "team": teams[person.team],
                "timezone": person.timezone,
                "is_staff": person.role == Role.ADMIN,
                "is_superuser": person.role == Role.ADMIN,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        users[person.username] = user
    for team_name, manager in (("Sales", "maria"), ("Delivery", "oscar")):
        Team.objects.filter(name=team_name).update(manager=users[manager])
    return users


def demo_logins() -> list[tuple[str, str, str]]:
    return [(person.username, DEMO_PASSWORD, Role(person.role).label) for person in DEMO_PEOPLE]


# --- customers ------------------------------------------------------------------------

# (name, domain, industry, size, owner username, contacts: (first, last, title))
DEMO_ACCOUNTS = [
    (
        "Northwind Logistics",
        "northwind.example",
        "Logistics",
        "251-1000",
        "rita",
        [("Hana", "Ito", "COO"), ("Marc", "Dubois", "Head of IT"), ("Priya", "Shah", "Finance director")],
    ),
    (
        "Globex Retail",
        "globex.example",
        "Retail",
        "1000+",
        "rita",
        [("Tom", "Reyes", "VP Operations"), ("Lena", "Fischer", "Store systems lead")],
    ),
    (
        "Initech Health",
        "initech.example",
        "Healthcare",
        "51-250",
        "rita",
        [("Omar", "Haddad", "CEO"), ("Julia", "Costa", "Practice manager")],
    ),
    (
        "Umbrella Foods",
        "umbrella.example",
        "Food & beverage",
        "251-1000",
        "rita",
        [("Grace", "Lee", "Procurement"), ("Ivan", "Petrov", "Plant manager")],
    ),
    (
        "Stark Engineering",
        "stark.example",
        "Manufacturing",
        "1000+",
        "rita",
        [("Nora", "Berg", "CTO"), ("Ravi", "Kumar", "Programme manager"), ("Ella", "Moss", "Controller")],
    ),
    (
        "Wayne Property",
        "wayne.example",
        "Real estate",
        "51-250",
        "sam",
        [("Ben", "Ortiz", "Managing director"), ("Sofia", "Rossi", "Office manager")],
    ),
    ("Acme Tooling", "acme.example", "Manufacturing", "11-50", "sam", [("Kai", "Wong", "Owner")]),
    (
        "Soylent Labs",
        "soylent.example",
        "Biotech",
        "51-250",
        "sam",
        [("Maya", "Cohen", "Head of research"), ("Leo", "Novak", "IT manager")],
    ),
    (
        "Hooli Media",
        "hooli.example",
        "Media",
        "251-1000",
        "sam",
        [("Zoe", "Martin", "CMO"), ("Adam", "Kovacs", "Finance lead"), ("Iris", "Bauer", "Editor in chief")],
    ),
    (
        "Vandelay Imports",
        "vandelay.example",
        "Wholesale",
        "11-50",
        "sam",
        [("Art", "Vandelay", "Founder"), ("Rosa", "Diaz", "Operations")],
    ),
]


def seed_pipeline_customers(people: dict[str, User]) -> list[Account]:
    """The customers of handoffs.demo's pipeline, in the order of DEMO_ACCOUNTS, created
    through the services so that their timelines read as they would in use."""
    accounts: list[Account] = []
    for name, domain, industry, size, owner_name, contacts in DEMO_ACCOUNTS:
        owner = people[owner_name]
        account = account_create(actor=owner, name=name, domain=domain, industry=industry, size=size)
        for first, last, title in contacts:
            contact_create(
                actor=owner,
                account=account,
                first_name=first,
                last_name=last,
                title=title,
                email=f"{first.lower()}.{last.lower()}@{domain}",
                phone="+44 20 7946 0" + str(100 + len(accounts) * 10 + len(first))[-3:],
            )
        accounts.append(account)
    return accounts


def handoff_customer(owner: User, *, name: str, domain: str) -> tuple[Account, Contact, Contact]:
    """A customer about to be handed over, through the services: the account, its
    operations director and its IT lead."""
    account = account_create(actor=owner, name=name, domain=domain, industry="Services", size="51-250")
    director = contact_create(
        actor=owner,
        account=account,
        first_name="Alex",
        last_name=name.split()[0],
        title="Operations director",
        email=f"alex@{domain}",
    )
    it_lead = contact_create(
        actor=owner, account=account, first_name="Sasha", last_name="Reed", title="IT lead", email=f"sasha@{domain}"
    )
    return account, director, it_lead


def demo_customer(name: str, owner: User, *contact_names: str) -> tuple[Account, list[Contact]]:
    """A customer account of `owner` and its contacts ("First Last"), written directly as
    history would have left them (no timeline); idempotent by name."""
    account, _ = Account.objects.get_or_create(
        name=name, defaults={"owner": owner, "team": owner.team, "industry": "Manufacturing"}
    )
    contacts = []
    for full_name in contact_names:
        first, last = full_name.split(" ", 1)
        contact, _ = Contact.objects.get_or_create(
            account=account,
            first_name=first,
            last_name=last,
            defaults={"email": f"{first.lower()}@{name.split()[0].lower()}.example"},
        )
        contacts.append(contact)
    return account, contacts
