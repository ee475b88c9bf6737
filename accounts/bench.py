"""Bench rows of the accounts app, for `manage.py seed_bench`: the teams and their
people, the organisation settings, the customer accounts and their contacts.

Also the tools every app's bench rows share, since this is the bottom layer: the size a
scale asks for (`BenchSize`), and `BenchSql`, which runs set-based statements with `now`
and `today` bound and a deterministic `pg_temp.bench_rand(seed, salt)` to draw from.
The apps above ask this module to write the accounts rows their own rows imply (an
accepted hand-off changes the account's owner; every deal has its timeline), as their
services ask accounts.services in use: `accounts_change_owner`, `events_record`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.choices import Role
from accounts.models import OrganisationSettings, Team, User

BENCH_PASSWORD = "bench-password"  # noqa: S105 — printed on purpose: the load generator logs in with it

# At scale 1.0.
ACCOUNTS_AT_SCALE_1 = 20_000
REPS_AT_SCALE_1 = 130
DELIVERY_LEADS_AT_SCALE_1 = 56
SALES_TEAM_NAMES = ["Sales North", "Sales South", "Sales East", "Sales West", "Sales Central", "Sales Enterprise"]
DELIVERY_TEAM_NAMES = ["Delivery Alpha", "Delivery Beta", "Delivery Gamma", "Delivery Delta"]
ADMIN_COUNT = 2
FIRST_NAMES = ["Alex", "Maria", "Sam", "Dana", "Lee", "Rita", "Oscar", "Ada", "Noah", "Mia", "Ivan", "Zoe", "Omar"]
LAST_NAMES = ["Lopez", "Novak", "Okafor", "Kim", "Moreau", "Berg", "Rossi", "Silva", "Khan", "Weber", "Dubois"]
TIMEZONES = ["Europe/Paris", "Europe/London", "America/New_York", "UTC", "Europe/Berlin"]

# A uniform number in [0, 1) from a row number and a salt: deterministic, so the same
# scale always gives the same data, and cheap enough for 1M rows.
BENCH_RAND = """
    CREATE OR REPLACE FUNCTION pg_temp.bench_rand(seed bigint, salt integer) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (hashint8(seed * 7919 + salt)::bigint + 2147483648) / 4294967296.0 $$
"""

# How a seeder runs each of its named steps and gets the step's result back; the command
# passes one that times them.
Phase = Callable[[str, Callable[[], Any]], Any]


def untimed(name: str, work: Callable[[], Any]) -> Any:
    return work()


@dataclass(frozen=True)
class BenchSize:
    """How big a data set a scale asks for. Each app turns it into its own row counts
    with `rows`; the people and the customer accounts are counted here."""

    scale: float

    def rows(self, at_scale_1: int, *, minimum: int) -> int:
        return max(minimum, round(at_scale_1 * self.scale))

    @property
    def people_scale(self) -> float:
        # Below 0.1 the organisation stays at a tenth of its size, so every role and
        # several teams exist even in the test's tiny data set.
        return max(self.scale, 0.1)

    @property
    def sales_teams(self) -> int:
        return max(1, min(len(SALES_TEAM_NAMES), round(len(SALES_TEAM_NAMES) * self.people_scale)))

    @property
    def delivery_teams(self) -> int:
        return max(1, min(len(DELIVERY_TEAM_NAMES), round(len(DELIVERY_TEAM_NAMES) * self.people_scale)))

    @property
    def reps(self) -> int:
        return max(2 * self.sales_teams, round(REPS_AT_SCALE_1 * self.people_scale))

    @property
    def delivery_leads(self) -> int:
        return max(2 * self.delivery_teams, round(DELIVERY_LEADS_AT_SCALE_1 * self.people_scale))

    @property
    def accounts(self) -> int:
        return self.rows(ACCOUNTS_AT_SCALE_1, minimum=10)


class BenchSql:
    """Runs one app's bench statements on the seeding cursor, with `%(now)s` and
    `%(today)s` bound; makes sure `pg_temp.bench_rand` exists in this session."""

    def __init__(self, *, cursor, now: datetime.datetime) -> None:
        self.cursor = cursor
        self.now = now
        self.today = timezone.localdate(now)
        self(BENCH_RAND)

    def __call__(self, statement: str, **params) -> None:
        self.cursor.execute(statement, {"now": self.now, "today": self.today, **params})

    def scalar(self, statement: str, **params):
        self(statement, **params)
        return self.cursor.fetchone()[0]


@dataclass(frozen=True)
class BenchRep:
    user_id: int
    team_id: int
    manager_id: int


@dataclass(frozen=True)
class BenchDeliveryLead:
    user_id: int
    team_id: int


@dataclass(frozen=True)
class BenchPeople:
    """Who the layers above assign their rows to, in order: the n-th rep and delivery lead."""

    reps: list[BenchRep]
    delivery_leads: list[BenchDeliveryLead]

    def load_lookup_tables(self, sql: BenchSql) -> None:
        """The people as temp tables for set-based joins on their position:
        bench_rep(idx, user_id, team_id, manager_id), bench_delivery(idx, user_id, team_id)."""
        sql("DROP TABLE IF EXISTS bench_rep, bench_delivery")
        sql("CREATE TEMP TABLE bench_rep (idx integer PRIMARY KEY, user_id bigint, team_id bigint, manager_id bigint)")
        sql("CREATE TEMP TABLE bench_delivery (idx integer PRIMARY KEY, user_id bigint, team_id bigint)")
        sql.cursor.executemany(
            "INSERT INTO bench_rep VALUES (%s, %s, %s, %s)",
            [(index, rep.user_id, rep.team_id, rep.manager_id) for index, rep in enumerate(self.reps)],
        )
        sql.cursor.executemany(
            "INSERT INTO bench_delivery VALUES (%s, %s, %s)",
            [(index, lead.user_id, lead.team_id) for index, lead in enumerate(self.delivery_leads)],
        )


def seed_bench_data(*, cursor, size: BenchSize, now: datetime.datetime, phase: Phase = untimed) -> BenchPeople:
    """Write the accounts app's bench rows into emptied tables; returns the people the
    layers above assign their deals and hand-offs to."""
    sql = BenchSql(cursor=cursor, now=now)
    people = phase("people", lambda: _people(size=size, now=now))
    phase("accounts and contacts", lambda: _accounts_and_contacts(sql, size=size, people=people))
    return people


def _people(*, size: BenchSize, now: datetime.datetime) -> BenchPeople:
    OrganisationSettings.load()
    password = make_password(BENCH_PASSWORD)
    team_names = SALES_TEAM_NAMES[: size.sales_teams] + DELIVERY_TEAM_NAMES[: size.delivery_teams]
    teams = Team.objects.bulk_create([Team(id=index, name=name) for index, name in enumerate(team_names, 1)])
    sales_teams, delivery_teams = teams[: size.sales_teams], teams[size.sales_teams :]
    users: list[User] = []

    def person(role: str, number: int, team: Team | None) -> User:
        user = User(
            id=len(users) + 1,
            username=f"bench_{role}_{number}",
            first_name=FIRST_NAMES[len(users) % len(FIRST_NAMES)],
            last_name=f"{LAST_NAMES[len(users) % len(LAST_NAMES)]} {role.title()} {number}",
            email=f"bench_{role}_{number}@baton.example",
            role=role,
            team=team,
            timezone=TIMEZONES[len(users) % len(TIMEZONES)],
            is_staff=role == Role.ADMIN,
            password=password,
            date_joined=now - datetime.timedelta(days=800),
        )
        users.append(user)
        return user

    managers = [person(Role.MANAGER, number, team) for number, team in enumerate(teams, 1)]
    reps = [
        person(Role.REP, number, sales_teams[(number - 1) % len(sales_teams)]) for number in range(1, size.reps + 1)
    ]
    leads = [
        person(Role.DELIVERY, number, delivery_teams[(number - 1) % len(delivery_teams)])
        for number in range(1, size.delivery_leads + 1)
    ]
    for number in range(1, ADMIN_COUNT + 1):
        person(Role.ADMIN, number, None)
    User.objects.bulk_create(users)
    for team, manager in zip(teams, managers, strict=True):
        team.manager = manager
    Team.objects.bulk_update(teams, ["manager"])

    manager_of_team = {team.id: manager.id for team, manager in zip(teams, managers, strict=True)}
    return BenchPeople(
        reps=[BenchRep(rep.id, rep.team_id, manager_of_team[rep.team_id]) for rep in reps],
        delivery_leads=[BenchDeliveryLead(lead.id, lead.team_id) for lead in leads],
    )


def _accounts_and_contacts(sql: BenchSql, *, size: BenchSize, people: BenchPeople) -> None:
    people.load_lookup_tables(sql)
    sql(
        """
        INSERT INTO accounts_account
            (id, name, domain, industry, size, address, notes, owner_id, team_id, health_score, version,
             created_at, updated_at)
        SELECT a,
               (ARRAY['Acme','Globex','Initech','Umbrella','Hooli','Stark','Wayne','Tyrell','Cyberdyne',
                      'Soylent','Wonka','Vandelay','Pied Piper','Aperture','Massive Dynamic','Oscorp',
                      'Gringotts','Monarch','Nakatomi','Blue Sun'])[1 + mod(a, 20)]
                 || ' ' || (ARRAY['Logistics','Health','Retail','Energy','Media','Foods','Labs',
                                  'Finance','Travel','Systems'])[1 + mod(a / 20, 10)]
                 || ' ' || a,
               'account' || a || '.example',
               (ARRAY['Software','Manufacturing','Retail','Healthcare','Finance','Logistics',
                      'Education','Energy'])[1 + mod(a, 8)],
               (ARRAY['', '1-10', '11-50', '51-250', '251-1000', '1000+'])[1 + mod(a / 3, 6)],
               a || ' Market Street', '', r.user_id, r.team_id,
               CASE WHEN pg_temp.bench_rand(a, 1) < 0.1 THEN NULL
                    ELSE 40 + floor(pg_temp.bench_rand(a, 2) * 61)::integer END,
               1, created, created
        FROM generate_series(1, %(accounts)s) AS a
        JOIN bench_rep r ON r.idx = mod(a, %(reps)s)
        CROSS JOIN LATERAL (SELECT %(now)s::timestamptz - (pg_temp.bench_rand(a, 3) * 760) * interval '1 day'
                            AS created) c
        """,
        accounts=size.accounts,
        reps=len(people.reps),
    )
    # 1–5 contacts per account (3 on average).
    sql(
        """
        INSERT INTO accounts_contact (id, account_id, first_name, last_name, title, email, phone, created_at)
        SELECT row_number() OVER (ORDER BY a, k), a,
               (ARRAY['Anna','Ben','Chloe','David','Emma','Felix','Grace','Hugo','Iris','Jonas'])[1 + mod(a + k, 10)],
               (ARRAY['Martin','Schmidt','Dupont','Garcia','Rossi','Jensen','Smith','Nowak'])[1 + mod(a * k, 8)],
               (ARRAY['CEO','CFO','Head of Operations','IT Manager','Project Lead'])[k],
               'contact' || k || '@account' || a || '.example',
               '+33 1 00 00 ' || lpad((mod(a * 5 + k, 10000))::text, 4, '0'),
               %(now)s::timestamptz - (pg_temp.bench_rand(a, 4) * 760) * interval '1 day'
        FROM generate_series(1, %(accounts)s) AS a, generate_series(1, 1 + mod(a, 5)) AS k
        """,
        accounts=size.accounts,
    )


# --- accounts rows that the layers above imply ------------------------------------------


def accounts_change_owner(sql: BenchSql, *, changes: str, **params) -> None:
    """Record the ownership changes that `changes` selects — (account_id, from_user_id,
    to_user_id, changed_by_id, reason, created_at), ordered so that of two changes at the
    same moment the later one wins — and make each account's latest receiver its owner
    (with a version bump, as account_change_owner does one account at a time), moving
    the account to the receiver's team."""
    sql(
        f"""
        WITH changed AS (
            INSERT INTO accounts_ownershipchange (account_id, from_user_id, to_user_id, changed_by_id, reason,
                                                  created_at)
            {changes}
            RETURNING id, account_id, to_user_id, created_at
        )
        UPDATE accounts_account acc
        SET owner_id = latest.to_user_id, team_id = receiver.team_id, version = acc.version + 1
        FROM (SELECT DISTINCT ON (account_id) account_id, to_user_id FROM changed
              ORDER BY account_id, created_at DESC, id DESC) latest
        JOIN accounts_user receiver ON receiver.id = latest.to_user_id
        WHERE acc.id = latest.account_id
        """,  # noqa: S608 — `changes` is the calling seeder's own constant SQL
        **params,
    )


def events_record(sql: BenchSql, *, events: str, **params) -> None:
    """Write the timeline events that `events` selects — (account_id, subject_type_id,
    subject_id, actor_id, verb, message, data, created_at) — as event_record would."""
    sql(
        f"""
        INSERT INTO accounts_timelineevent (account_id, subject_type_id, subject_id, actor_id, verb, message, data,
                                            created_at)
        {events}
        """,
        **params,
    )
