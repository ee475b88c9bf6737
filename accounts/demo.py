"""Demo people: a small, realistic selling organisation. Used by `manage.py seed_demo`."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.choices import Role
from accounts.models import OrganisationSettings, Team, User

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
