"""`manage.py seed_bench --scale N`: a large, realistic data set for `make bench`.

Scale 1.0 is a busy selling organisation: ~200 users in ~10 teams, 20,000 accounts,
60,000 contacts, 100,000 deals (60,000 won, each with its hand-off and ~5 steps),
1,000,000 check-ins of which ~20,000 overdue, promises, three-way meetings, ownership
history and timeline events. The spread is deliberately imperfect (overdue next steps,
single-threaded deals, won deals without context, declined or unaccepted hand-offs,
overdue steps, incomplete meetings, broken promises) so that every dropped-baton rule
has work to do.

Rows are generated inside PostgreSQL with `INSERT … SELECT generate_series(…)` in one
transaction: no per-row ORM save, no model signal, no Python loop over rows. Random
choices come from a hash of the row number, so the same scale gives the same data.
This command lives in the top app because it writes every app's tables.
"""

from __future__ import annotations

import datetime
import importlib
import time
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.choices import Role
from accounts.models import OrganisationSettings, Team, User
from handoffs.choices import StepOwnerRole
from handoffs.models import Deal, Playbook, PlaybookStep

BENCH_PASSWORD = "bench-password"  # noqa: S105 — printed on purpose: the load generator logs in with it

# At scale 1.0.
ACCOUNTS_AT_SCALE_1 = 20_000
DEALS_AT_SCALE_1 = 100_000
CHECKINS_AT_SCALE_1 = 1_000_000
OVERDUE_CHECKINS_AT_SCALE_1 = 20_000
REPS_AT_SCALE_1 = 130
DELIVERY_LEADS_AT_SCALE_1 = 56
SALES_TEAM_NAMES = ["Sales North", "Sales South", "Sales East", "Sales West", "Sales Central", "Sales Enterprise"]
DELIVERY_TEAM_NAMES = ["Delivery Alpha", "Delivery Beta", "Delivery Gamma", "Delivery Delta"]
ADMIN_COUNT = 2
FIRST_NAMES = ["Alex", "Maria", "Sam", "Dana", "Lee", "Rita", "Oscar", "Ada", "Noah", "Mia", "Ivan", "Zoe", "Omar"]
LAST_NAMES = ["Lopez", "Novak", "Okafor", "Kim", "Moreau", "Berg", "Rossi", "Silva", "Khan", "Weber", "Dubois"]
TIMEZONES = ["Europe/Paris", "Europe/London", "America/New_York", "UTC", "Europe/Berlin"]

# Data-sized tables, in the order they are filled; `--help` and the summary list them.
DOMAIN_APPS = ("accounts", "handoffs", "followups")

PLAYBOOKS = [
    # name, segment, is_default, cadence, steps (title, owner role, due offset days)
    (
        "Standard",
        "",
        True,
        [7, 30, 90],
        [
            ("Contract countersigned", StepOwnerRole.SALES_OPS, 1),
            ("Invoice sent", StepOwnerRole.FINANCE, 3),
            ("Delivery owner confirmed", StepOwnerRole.MANAGER, 3),
            ("Kick-off held", StepOwnerRole.DELIVERY, 7),
            ("Customer onboarded", StepOwnerRole.DELIVERY, 21),
        ],
    ),
    (
        "Enterprise",
        "enterprise",
        False,
        [7, 30, 90],
        [
            ("Contract countersigned", StepOwnerRole.SALES_OPS, 1),
            ("Invoice sent", StepOwnerRole.FINANCE, 3),
            ("Delivery owner confirmed", StepOwnerRole.MANAGER, 3),
            ("Kick-off held", StepOwnerRole.DELIVERY, 7),
            ("Security review passed", StepOwnerRole.DELIVERY, 14),
            ("Customer onboarded", StepOwnerRole.DELIVERY, 30),
        ],
    ),
    (
        "SMB",
        "smb",
        False,
        [7, 30],
        [
            ("Contract countersigned", StepOwnerRole.SALES_OPS, 1),
            ("Welcome call", StepOwnerRole.SALES, 2),
            ("Kick-off held", StepOwnerRole.DELIVERY, 5),
            ("Customer onboarded", StepOwnerRole.DELIVERY, 14),
        ],
    ),
]


@dataclass(frozen=True)
class BenchSize:
    """How many rows of each kind a scale asks for."""

    scale: float

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
        return max(10, round(ACCOUNTS_AT_SCALE_1 * self.scale))

    @property
    def deals(self) -> int:
        return max(50, round(DEALS_AT_SCALE_1 * self.scale))

    @property
    def checkins(self) -> int:
        return max(100, round(CHECKINS_AT_SCALE_1 * self.scale))

    @property
    def overdue_checkins(self) -> int:
        return max(5, round(OVERDUE_CHECKINS_AT_SCALE_1 * self.scale))


def domain_tables() -> list[str]:
    """Every table of Baton's apps (and the sessions and admin log that point at users)."""
    tables = []
    for label in DOMAIN_APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            tables.append(model._meta.db_table)
    return [*tables, "django_session", "django_admin_log"]


def refuse_unsafe_database(*, force: bool) -> None:
    """Only PostgreSQL, and only a database named for benchmarks or tests unless forced."""
    if connection.vendor != "postgresql":
        raise CommandError(
            f"seed_bench needs PostgreSQL (it uses its bulk paths); DATABASE_URL points at {connection.vendor}. "
            "Set DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton_bench."
        )
    name = str(connection.settings_dict["NAME"])
    if not force and "bench" not in name and "test" not in name:
        raise CommandError(
            f"seed_bench empties every Baton table first; it refuses the database {name!r} because its name "
            "contains neither 'bench' nor 'test'. Use --force if you really mean it."
        )


class Command(BaseCommand):
    help = (
        "Fill a PostgreSQL database with benchmark data. It first TRUNCATEs every Baton table (users, teams, "
        "accounts, deals, hand-offs, check-ins, sessions…), then bulk-inserts. Scale 1 = 100,000 deals, "
        "60,000 hand-offs, 1,000,000 check-ins, ~200 users. Refuses databases whose name contains neither "
        f"'bench' nor 'test' unless --force. Bench users (bench_rep_1, bench_manager_1, bench_delivery_1, "
        f"bench_admin_1, …) get the password '{BENCH_PASSWORD}'."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100,000 deals (default 1.0).")
        parser.add_argument("--force", action="store_true", help="Allow a database not named *bench* or *test*.")

    def handle(self, *args, scale: float, force: bool, **options):
        if not 0 < scale <= 20:
            raise CommandError("--scale must be above 0 and at most 20.")
        refuse_unsafe_database(force=force)
        size = BenchSize(scale)
        self.timings: list[tuple[str, float]] = []
        started = time.monotonic()
        self.stdout.write(f"Seeding benchmark data at scale {scale} into {connection.settings_dict['NAME']!r}…")
        with transaction.atomic():
            seeder = BenchSeeder(size=size, phase=self._phase)
            seeder.run()
        with connection.cursor() as cursor:
            self._phase("analyze", lambda: [cursor.execute(f'ANALYZE "{table}"') for table in domain_tables()])
        for name, seconds in self.timings:
            self.stdout.write(f"  {name:<28} {seconds:7.1f} s")
        self.stdout.write("Rows:")
        for table, count in table_counts().items():
            self.stdout.write(f"  {table:<34} {count:>10,}")
        self.stdout.write(self.style.SUCCESS(f"Benchmark data seeded in {time.monotonic() - started:.1f} s."))
        self.stdout.write(
            f"Bench logins (password '{BENCH_PASSWORD}'): bench_rep_1…{size.reps}, "
            f"bench_delivery_1…{size.delivery_leads}, bench_manager_1…{size.sales_teams + size.delivery_teams}, "
            f"bench_admin_1…{ADMIN_COUNT}"
        )

    def _phase(self, name: str, work) -> None:
        began = time.monotonic()
        work()
        self.timings.append((name, time.monotonic() - began))


def table_counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in domain_tables():
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 — table names come from the models
            counts[table] = cursor.fetchone()[0]
    return counts


# Later issues plug their own bench rows in here: a module `<app>.bench` with a function
# `seed_bench_data(*, cursor, size: BenchSize, now: datetime)` runs after the rows above,
# in the same transaction, in layer order. It should be set-based SQL too.
APP_BENCH_MODULES = ("accounts.bench", "handoffs.bench", "followups.bench")


def app_bench_seeders() -> list[tuple[str, object]]:
    seeders = []
    for module_name in APP_BENCH_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        seeders.append((module_name, module.seed_bench_data))
    return seeders


class BenchSeeder:
    """Writes the data set; each step is one or two set-based SQL statements."""

    def __init__(self, *, size: BenchSize, phase) -> None:
        self.size = size
        self.phase = phase
        self.now = timezone.now().replace(microsecond=0)
        self.today = timezone.localdate(self.now)

    def run(self) -> None:
        self.cursor = connection.cursor()
        with self.cursor:
            self.phase("truncate", self.truncate)
            self.phase("people and playbooks", self.people_and_playbooks)
            self.phase("accounts and contacts", self.accounts_and_contacts)
            self.phase("deals", self.deals)
            self.phase("hand-offs and steps", self.handoffs_and_steps)
            self.phase("meetings and ownership", self.meetings_and_ownership)
            self.phase("promises", self.promises)
            self.phase("check-ins", self.checkins)
            self.phase("timeline and notifications", self.timeline_and_notifications)
            for module_name, add_rows in app_bench_seeders():
                self.phase(
                    module_name, lambda add_rows=add_rows: add_rows(cursor=self.cursor, size=self.size, now=self.now)
                )
            self.phase("sequences", self.reset_sequences)

    def sql(self, statement: str, **params) -> None:
        self.cursor.execute(statement, {"now": self.now, "today": self.today, **params})

    # -- steps -------------------------------------------------------------------

    def truncate(self) -> None:
        tables = ", ".join(f'"{table}"' for table in domain_tables())
        self.sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        # A uniform number in [0, 1) from a row number and a salt: deterministic, so
        # the same scale always gives the same data, and cheap enough for 1M rows.
        self.sql(
            """
            CREATE OR REPLACE FUNCTION pg_temp.bench_rand(seed bigint, salt integer) RETURNS double precision
            LANGUAGE sql IMMUTABLE PARALLEL SAFE
            AS $$ SELECT (hashint8(seed * 7919 + salt)::bigint + 2147483648) / 4294967296.0 $$
            """
        )

    def people_and_playbooks(self) -> None:
        size = self.size
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
                date_joined=self.now - datetime.timedelta(days=800),
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

        # Lookup tables for the set-based inserts: the n-th rep / delivery lead.
        self.sql("DROP TABLE IF EXISTS bench_rep, bench_delivery")
        self.sql(
            "CREATE TEMP TABLE bench_rep (idx integer PRIMARY KEY, user_id bigint, team_id bigint, manager_id bigint)"
        )
        self.sql("CREATE TEMP TABLE bench_delivery (idx integer PRIMARY KEY, user_id bigint, team_id bigint)")
        manager_of_team = {team.id: manager.id for team, manager in zip(teams, managers, strict=True)}
        self.cursor.executemany(
            "INSERT INTO bench_rep VALUES (%s, %s, %s, %s)",
            [(index, rep.id, rep.team_id, manager_of_team[rep.team_id]) for index, rep in enumerate(reps)],
        )
        self.cursor.executemany(
            "INSERT INTO bench_delivery VALUES (%s, %s, %s)",
            [(index, lead.id, lead.team_id) for index, lead in enumerate(leads)],
        )

        for index, (name, segment, is_default, cadence, steps) in enumerate(PLAYBOOKS, 1):
            [playbook] = Playbook.objects.bulk_create(
                [Playbook(id=index, name=name, segment=segment, is_default=is_default, checkin_cadence=cadence)]
            )
            PlaybookStep.objects.bulk_create(
                PlaybookStep(playbook=playbook, position=position, title=title, owner_role=role, due_offset_days=days)
                for position, (title, role, days) in enumerate(steps, 1)
            )

    def accounts_and_contacts(self) -> None:
        self.sql(
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
            accounts=self.size.accounts,
            reps=self.size.reps,
        )
        # 1–5 contacts per account (3 on average).
        self.sql(
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
            accounts=self.size.accounts,
        )

    def deals(self) -> None:
        # Stages: 60% won, 15% lost, 25% open. Closed deals closed over the past ~2 years;
        # open deals were created in the past 6 months. ~15% of open next steps are
        # overdue and ~3% missing; ~12% of deals have no lead source or no context.
        self.sql(
            """
            INSERT INTO handoffs_deal
                (id, title, account_id, owner_id, team_id, amount, currency, stage, segment,
                 expected_close_date, lead_source, context_origin, context_known, context_talked_to,
                 context_needs, next_step, next_step_due, closed_on, close_reason, lost_reason, version,
                 created_at, updated_at)
            SELECT d,
                   (ARRAY['Platform rollout','Annual licence','Pilot','Expansion','Support renewal',
                          'Data migration','Analytics add-on','Training package'])[1 + mod(d, 8)] || ' — ' || acc.name,
                   acc.id, acc.owner_id, acc.team_id,
                   round((1000 + pg_temp.bench_rand(d, 5) ^ 2 * 250000)::numeric, 2),
                   CASE WHEN pg_temp.bench_rand(d, 6) < 0.7 THEN 'EUR' WHEN pg_temp.bench_rand(d, 6) < 0.9 THEN 'USD'
                        ELSE 'GBP' END,
                   s.stage,
                   CASE WHEN pg_temp.bench_rand(d, 8) < 0.2 THEN 'enterprise'
                        WHEN pg_temp.bench_rand(d, 8) < 0.5 THEN 'smb' ELSE '' END,
                   CASE WHEN s.is_open THEN %(today)s::date + (5 + floor(pg_temp.bench_rand(d, 9) * 85))::integer END,
                   CASE WHEN pg_temp.bench_rand(d, 10) < 0.08 THEN ''
                        ELSE (ARRAY['inbound','outbound','referral','partner','event','existing_customer'])
                             [1 + mod(d, 6)] END,
                   CASE WHEN s.no_context THEN '' ELSE 'Found us through a webinar on hand-offs.' END,
                   CASE WHEN s.no_context THEN '' ELSE 'Saw the demo; knows the pricing tiers.' END,
                   CASE WHEN s.no_context THEN '' ELSE 'Talked to the CFO and the project lead.' END,
                   CASE WHEN s.no_context THEN '' ELSE 'Needs to be live before the next quarter.' END,
                   CASE WHEN s.is_open AND NOT s.no_next_step
                        THEN (ARRAY['Send the proposal','Call to review pricing','Demo for the team',
                                    'Security questionnaire','Agree the start date'])[1 + mod(d, 5)]
                        ELSE '' END,
                   CASE WHEN s.is_open AND NOT s.no_next_step
                        THEN %(today)s::date + (floor(pg_temp.bench_rand(d, 11) * 40) - 6)::integer END,
                   s.closed_on,
                   CASE WHEN s.stage = 'won' THEN 'Signed after the final negotiation.' ELSE '' END,
                   CASE WHEN s.stage = 'lost'
                        THEN (ARRAY['price','competitor','no_decision','timing','fit','other'])[1 + mod(d, 6)]
                        ELSE '' END,
                   1, s.created, s.created
            FROM generate_series(1, %(deals)s) AS d
            JOIN accounts_account acc ON acc.id = 1 + mod(d::bigint * 48271, %(accounts)s)
            CROSS JOIN LATERAL (
                SELECT stage, stage NOT IN ('won', 'lost') AS is_open,
                       pg_temp.bench_rand(d, 12) < 0.10 AS no_context,
                       pg_temp.bench_rand(d, 13) < 0.03 AS no_next_step,
                       CASE WHEN stage IN ('won', 'lost') THEN closed END AS closed_on,
                       CASE WHEN stage IN ('won', 'lost')
                            THEN closed - (14 + pg_temp.bench_rand(d, 14) * 120) * interval '1 day' + interval '9 hours'
                            ELSE %(now)s::timestamptz - pg_temp.bench_rand(d, 14) * 180 * interval '1 day' END
                            AS created
                FROM (SELECT CASE WHEN u < 0.60 THEN 'won' WHEN u < 0.75 THEN 'lost'
                                  WHEN v < 0.30 THEN 'qualify' WHEN v < 0.60 THEN 'discover'
                                  WHEN v < 0.85 THEN 'propose' ELSE 'negotiate' END AS stage,
                             %(today)s::date - floor(pg_temp.bench_rand(d, 3) * 720)::integer AS closed
                      FROM (SELECT pg_temp.bench_rand(d, 1) AS u, pg_temp.bench_rand(d, 2) AS v) uv) picked
            ) s
            """,
            deals=self.size.deals,
            accounts=self.size.accounts,
        )
        # One contact on ~25% of deals (single-threaded), up to three otherwise.
        self.sql(
            """
            INSERT INTO handoffs_dealcontact (deal_id, contact_id, role)
            SELECT d.id, c.id,
                   (ARRAY['champion','decision_maker','finance'])[c.position]
            FROM handoffs_deal d
            CROSS JOIN LATERAL (
                SELECT id, row_number() OVER (ORDER BY id) AS position FROM accounts_contact
                WHERE account_id = d.account_id ORDER BY id
                LIMIT CASE WHEN pg_temp.bench_rand(d.id, 15) < 0.25 THEN 1 ELSE 3 END
            ) c
            """
        )

    def handoffs_and_steps(self) -> None:
        # The hand-off of every won deal (its id is the deal's), its status by age: recent
        # ones are still being proposed and accepted, old ones mostly complete, with a
        # few dropped along the way at every age.
        self.sql(
            """
            INSERT INTO handoffs_handoff
                (id, deal_id, status, playbook_id, closed_on, rep_id, team_id, proposed_owner_id, proposed_by_id,
                 proposed_at, delivery_owner_id, accepted_at, declined_by_id, declined_at, decline_reason,
                 meeting_held_at, completed_at, agreement, created_at, updated_at)
            SELECT d.id, d.id, st.status,
                   CASE d.segment WHEN 'enterprise' THEN 2 WHEN 'smb' THEN 3 ELSE 1 END,
                   d.closed_on, d.owner_id, d.team_id,
                   CASE WHEN st.status <> 'awaiting_owner' THEN lead.user_id END,
                   CASE WHEN st.status <> 'awaiting_owner' THEN rep.manager_id END,
                   CASE WHEN st.status <> 'awaiting_owner' THEN least(%(now)s, closed_at + interval '1 day') END,
                   CASE WHEN st.status IN ('accepted','meeting_scheduled','meeting_held','complete')
                        THEN lead.user_id END,
                   CASE WHEN st.status IN ('accepted','meeting_scheduled','meeting_held','complete')
                        THEN least(%(now)s, closed_at + interval '2 days') END,
                   CASE WHEN st.status = 'declined' THEN lead.user_id END,
                   CASE WHEN st.status = 'declined' THEN least(%(now)s, closed_at + interval '2 days') END,
                   CASE WHEN st.status = 'declined' THEN 'Fully booked on another roll-out this month.' ELSE '' END,
                   CASE WHEN st.status IN ('meeting_held','complete')
                        THEN least(%(now)s, closed_at + (CASE WHEN pg_temp.bench_rand(d.id, 17) < 0.08 THEN 16 ELSE 6 END)
                                                         * interval '1 day') END,
                   CASE WHEN st.status = 'complete' THEN least(%(now)s, closed_at + interval '30 days') END,
                   CASE WHEN st.status IN ('meeting_held','complete')
                        THEN 'Kick-off in two weeks; weekly status call; go-live within the quarter.' ELSE '' END,
                   closed_at, closed_at
            FROM handoffs_deal d
            JOIN bench_rep rep ON rep.user_id = d.owner_id
            JOIN bench_delivery lead ON lead.idx = mod(d.id * 31, %(leads)s)
            CROSS JOIN LATERAL (SELECT d.closed_on + interval '17 hours' AS closed_at,
                                       %(today)s::date - d.closed_on AS age,
                                       pg_temp.bench_rand(d.id, 16) AS u) x
            CROSS JOIN LATERAL (SELECT CASE
                WHEN age <= 3 THEN CASE WHEN u < 0.40 THEN 'awaiting_owner' WHEN u < 0.80 THEN 'owner_proposed'
                                        WHEN u < 0.85 THEN 'declined' ELSE 'accepted' END
                WHEN age <= 14 THEN CASE WHEN u < 0.15 THEN 'owner_proposed' WHEN u < 0.20 THEN 'declined'
                                         WHEN u < 0.45 THEN 'accepted' WHEN u < 0.75 THEN 'meeting_scheduled'
                                         ELSE 'meeting_held' END
                WHEN age <= 60 THEN CASE WHEN u < 0.02 THEN 'awaiting_owner' WHEN u < 0.04 THEN 'declined'
                                         WHEN u < 0.12 THEN 'accepted' WHEN u < 0.17 THEN 'meeting_scheduled'
                                         WHEN u < 0.52 THEN 'meeting_held' ELSE 'complete' END
                ELSE CASE WHEN u < 0.01 THEN 'awaiting_owner' WHEN u < 0.02 THEN 'owner_proposed'
                          WHEN u < 0.03 THEN 'declined' WHEN u < 0.06 THEN 'accepted'
                          WHEN u < 0.10 THEN 'meeting_held' ELSE 'complete' END
                END AS status) st
            WHERE d.stage = 'won'
            """,
            leads=self.size.delivery_leads,
        )
        # Steps from the playbook; past-due steps mostly done, some skipped, some left
        # open (step_overdue); every step of a complete hand-off done.
        self.sql(
            """
            INSERT INTO handoffs_handoffstep
                (handoff_id, position, title, owner_role, assignee_id, required, due_on, status, done_by_id,
                 done_at, skip_reason)
            SELECT handoff_id, position, title, owner_role, assignee_id, required, due_on, status,
                   CASE WHEN status = 'done' THEN coalesce(assignee_id, rep_id) END,
                   CASE WHEN status = 'done' THEN least(%(now)s, due_on - 1 + interval '15 hours') END,
                   CASE WHEN status = 'skipped' THEN 'Not needed for this customer.' ELSE '' END
            FROM (
                SELECT h.id AS handoff_id, ps.position, ps.title, ps.owner_role, ps.required, h.rep_id,
                       CASE ps.owner_role WHEN 'sales' THEN h.rep_id WHEN 'manager' THEN rep.manager_id
                                          WHEN 'delivery' THEN h.delivery_owner_id END AS assignee_id,
                       h.closed_on + ps.due_offset_days AS due_on,
                       CASE WHEN h.status = 'complete' THEN 'done'
                            WHEN h.closed_on + ps.due_offset_days >= %(today)s
                                 THEN CASE WHEN pg_temp.bench_rand(h.id * 8 + ps.position, 18) < 0.3 THEN 'done'
                                           ELSE 'open' END
                            ELSE CASE WHEN pg_temp.bench_rand(h.id * 8 + ps.position, 18) < 0.80 THEN 'done'
                                      WHEN pg_temp.bench_rand(h.id * 8 + ps.position, 18) < 0.84 THEN 'skipped'
                                      ELSE 'open' END
                       END AS status
                FROM handoffs_handoff h
                JOIN handoffs_playbookstep ps ON ps.playbook_id = h.playbook_id
                JOIN bench_rep rep ON rep.user_id = h.rep_id
            ) steps
            """
        )

    def meetings_and_ownership(self) -> None:
        # One three-way meeting per hand-off that got that far (its id is the hand-off's).
        self.sql(
            """
            INSERT INTO handoffs_meeting
                (id, handoff_id, uid, sequence, starts_at, duration_minutes, location, status, organizer_id,
                 held_at, recorded_by_id, notes, created_at, updated_at)
            SELECT h.id, h.id, gen_random_uuid(), 0,
                   CASE WHEN h.status = 'meeting_scheduled'
                        THEN date_trunc('day', %(now)s::timestamptz) + (1 + mod(h.id, 7)) * interval '1 day'
                             + interval '10 hours'
                        ELSE h.meeting_held_at END,
                   45, CASE WHEN mod(h.id, 3) = 0 THEN 'Customer office' ELSE 'Video call' END,
                   CASE WHEN h.status = 'meeting_scheduled' THEN 'scheduled' ELSE 'held' END,
                   h.rep_id,
                   CASE WHEN h.status <> 'meeting_scheduled' THEN h.meeting_held_at END,
                   CASE WHEN h.status <> 'meeting_scheduled' THEN h.rep_id END,
                   CASE WHEN h.status <> 'meeting_scheduled' THEN 'Walked through the promises and the plan.'
                        ELSE '' END,
                   h.accepted_at, coalesce(h.meeting_held_at, h.accepted_at)
            FROM handoffs_handoff h
            WHERE h.status IN ('meeting_scheduled', 'meeting_held', 'complete')
            """
        )
        # The rep, the delivery owner and the deal's contacts; ~4% of held meetings
        # lacked the delivery owner and ~3% the customer (incomplete_meeting).
        self.sql(
            """
            INSERT INTO handoffs_meetingattendee (meeting_id, user_id, contact_id, attended)
            SELECT m.id, h.rep_id, NULL::bigint, CASE WHEN m.status = 'held' THEN true END
            FROM handoffs_meeting m JOIN handoffs_handoff h ON h.id = m.handoff_id
            UNION ALL
            SELECT m.id, h.delivery_owner_id, NULL::bigint,
                   CASE WHEN m.status = 'held' THEN pg_temp.bench_rand(m.id, 21) >= 0.04 END
            FROM handoffs_meeting m JOIN handoffs_handoff h ON h.id = m.handoff_id
            UNION ALL
            SELECT m.id, NULL::bigint, dc.contact_id,
                   CASE WHEN m.status = 'held' THEN pg_temp.bench_rand(m.id, 22) >= 0.03 END
            FROM handoffs_meeting m JOIN handoffs_dealcontact dc ON dc.deal_id = m.handoff_id
            """
        )
        # Accepting a hand-off makes the delivery owner the account's owner, with history.
        self.sql(
            """
            INSERT INTO accounts_ownershipchange (account_id, from_user_id, to_user_id, changed_by_id, reason, created_at)
            SELECT d.account_id, h.rep_id, h.delivery_owner_id, h.delivery_owner_id,
                   'Accepted the hand-off of ' || d.title, h.accepted_at
            FROM handoffs_handoff h JOIN handoffs_deal d ON d.id = h.deal_id
            WHERE h.delivery_owner_id IS NOT NULL
            """
        )
        self.sql(
            """
            UPDATE accounts_account acc
            SET owner_id = latest.delivery_owner_id, team_id = lead.team_id, version = 2
            FROM (SELECT DISTINCT ON (d.account_id) d.account_id, h.delivery_owner_id
                  FROM handoffs_handoff h JOIN handoffs_deal d ON d.id = h.deal_id
                  WHERE h.delivery_owner_id IS NOT NULL
                  ORDER BY d.account_id, h.accepted_at DESC, h.id DESC) latest
            JOIN bench_delivery lead ON lead.user_id = latest.delivery_owner_id
            WHERE acc.id = latest.account_id
            """
        )

    def promises(self) -> None:
        # 0–2 promises on late-stage and won deals, one more on won deals. Reviewed in
        # held meetings: most confirmed (then kept), some broken or dropped.
        self.sql(
            """
            INSERT INTO handoffs_promise
                (deal_id, description, target_date, status, original_description, status_note, reviewed_at,
                 created_by_id, created_at)
            SELECT d.id,
                   (ARRAY['Live by the end of the quarter','SSO included','Weekly status call',
                          'Data migration from the old tool','Dedicated support contact',
                          'Training for ten users'])[1 + mod(d.id + k, 6)],
                   coalesce(d.closed_on, %(today)s::date) + 30 * k,
                   CASE WHEN h.status IN ('meeting_held', 'complete')
                        THEN CASE WHEN pg_temp.bench_rand(d.id * 4 + k, 23) < 0.06 THEN 'broken'
                                  WHEN pg_temp.bench_rand(d.id * 4 + k, 23) < 0.10 THEN 'dropped'
                                  WHEN pg_temp.bench_rand(d.id * 4 + k, 23) < 0.14 THEN 'open'
                                  WHEN h.status = 'complete' THEN 'kept' ELSE 'confirmed' END
                        ELSE 'open' END,
                   '', '',
                   CASE WHEN h.status IN ('meeting_held', 'complete') THEN h.meeting_held_at END,
                   d.owner_id, d.created_at + k * interval '1 day'
            FROM handoffs_deal d
            LEFT JOIN handoffs_handoff h ON h.deal_id = d.id
            CROSS JOIN LATERAL generate_series(
                1, floor(pg_temp.bench_rand(d.id, 24) * 3)::integer + CASE WHEN d.stage = 'won' THEN 1 ELSE 0 END
            ) AS k
            WHERE d.stage IN ('propose', 'negotiate', 'won')
            """
        )

    def checkins(self) -> None:
        # Check-ins of every accepted hand-off: 7, 30 and 90 days after the close, then
        # monthly; as many per hand-off as it takes to reach the target count.
        with_owner = "('accepted', 'meeting_scheduled', 'meeting_held', 'complete')"
        self.cursor.execute(f"SELECT count(*) FROM handoffs_handoff WHERE status IN {with_owner}")  # noqa: S608
        handoffs_with_owner = max(1, self.cursor.fetchone()[0])
        per_handoff = self.size.checkins / handoffs_with_owner
        self.sql(
            f"""
            INSERT INTO followups_checkin
                (handoff_id, account_id, rep_id, cadence_days, due_on, status, done_at, channel, sentiment, notes,
                 issues_raised, referral_asked, repeat_business_asked, opened_deal_id, created_at)
            SELECT h.id, d.account_id, h.rep_id, c.cadence_days, c.due_on,
                   CASE WHEN c.due_on < %(today)s THEN 'done' ELSE 'scheduled' END,
                   CASE WHEN c.due_on < %(today)s THEN c.due_on + interval '11 hours' END,
                   CASE WHEN c.due_on < %(today)s THEN (ARRAY['call','email','meeting','message'])[1 + mod(h.id + n, 4)]
                        ELSE '' END,
                   CASE WHEN c.due_on < %(today)s
                        THEN (ARRAY['happy','happy','neutral','at_risk'])[1 + mod(h.id * 3 + n, 4)] ELSE '' END,
                   CASE WHEN c.due_on < %(today)s THEN 'Talked through progress and next milestones.' ELSE '' END,
                   CASE WHEN c.due_on < %(today)s AND mod(h.id + n, 17) = 0 THEN 'Reports load slowly.' ELSE '' END,
                   c.due_on < %(today)s AND mod(h.id + n, 9) = 0,
                   c.due_on < %(today)s AND mod(h.id + n, 13) = 0,
                   NULL, h.accepted_at
            FROM handoffs_handoff h
            JOIN handoffs_deal d ON d.id = h.deal_id
            CROSS JOIN LATERAL generate_series(
                1, greatest(1, round(%(per_handoff)s * (0.5 + pg_temp.bench_rand(h.id, 25)))::integer)
            ) AS n
            CROSS JOIN LATERAL (
                SELECT CASE n WHEN 1 THEN 7 WHEN 2 THEN 30 WHEN 3 THEN 90 ELSE 90 + 30 * (n - 3) END AS cadence_days,
                       h.closed_on + CASE n WHEN 1 THEN 7 WHEN 2 THEN 30 WHEN 3 THEN 90 ELSE 90 + 30 * (n - 3) END
                           AS due_on
            ) c
            WHERE h.status IN {with_owner}
            """,  # noqa: S608 — with_owner is a constant
            per_handoff=per_handoff,
        )
        # ~20,000 (at scale 1) recent check-ins were not done: overdue, most of them
        # past the grace period (missed_check_in).
        self.cursor.execute(
            "SELECT count(*) FROM followups_checkin WHERE status = 'done' AND due_on >= %s",
            [self.today - datetime.timedelta(days=120)],
        )
        recent_done = max(1, self.cursor.fetchone()[0])
        self.sql(
            """
            UPDATE followups_checkin
            SET status = 'scheduled', done_at = NULL, channel = '', sentiment = '', notes = '', issues_raised = '',
                referral_asked = false, repeat_business_asked = false
            WHERE status = 'done' AND due_on >= %(since)s AND pg_temp.bench_rand(id, 26) < %(share)s
            """,
            since=self.today - datetime.timedelta(days=120),
            share=min(1.0, self.size.overdue_checkins / recent_done),
        )
        # A few check-ins were moved once, with a reason.
        self.sql(
            """
            INSERT INTO followups_checkinreschedule (checkin_id, old_due_on, new_due_on, reason, rescheduled_by_id,
                                                      created_at)
            SELECT id, due_on - 7, due_on, 'Customer on holiday that week.', rep_id, created_at + interval '1 day'
            FROM followups_checkin WHERE mod(id, 100) = 0
            """
        )

    def timeline_and_notifications(self) -> None:
        deal_type = ContentType.objects.get_for_model(Deal).id
        self.sql(
            """
            INSERT INTO accounts_timelineevent (account_id, subject_type_id, subject_id, actor_id, verb, message, data,
                                                created_at)
            SELECT d.account_id, %(deal_type)s, d.id, d.owner_id, 'deal_created', 'Deal created: ' || d.title,
                   '{}'::jsonb, d.created_at
            FROM handoffs_deal d
            UNION ALL
            SELECT d.account_id, %(deal_type)s, d.id, d.owner_id,
                   CASE d.stage WHEN 'won' THEN 'deal_won' ELSE 'deal_lost' END,
                   CASE d.stage WHEN 'won' THEN 'Deal won.' ELSE 'Deal lost (' || d.lost_reason || ').' END,
                   '{}'::jsonb, d.closed_on + interval '17 hours'
            FROM handoffs_deal d WHERE d.stage IN ('won', 'lost')
            UNION ALL
            SELECT d.account_id, %(deal_type)s, d.id, d.owner_id, 'handoff_started',
                   'Hand-off started with its playbook.', jsonb_build_object('handoff_id', h.id),
                   h.created_at + interval '1 second'
            FROM handoffs_handoff h JOIN handoffs_deal d ON d.id = h.deal_id
            UNION ALL
            SELECT d.account_id, %(deal_type)s, d.id, h.delivery_owner_id, 'ownership_accepted',
                   'Ownership accepted.', jsonb_build_object('handoff_id', h.id), h.accepted_at
            FROM handoffs_handoff h JOIN handoffs_deal d ON d.id = h.deal_id WHERE h.accepted_at IS NOT NULL
            UNION ALL
            SELECT d.account_id, %(deal_type)s, d.id, h.rep_id, 'meeting_held', 'Hand-off meeting recorded.',
                   jsonb_build_object('handoff_id', h.id), h.meeting_held_at
            FROM handoffs_handoff h JOIN handoffs_deal d ON d.id = h.deal_id WHERE h.meeting_held_at IS NOT NULL
            """,
            deal_type=deal_type,
        )
        self.sql(
            """
            INSERT INTO followups_notification (user_id, kind, title, body, url, read_at, created_at)
            SELECT u.id, 'reminder', 'Check-in due with a customer', 'A check-in of yours is due.', '',
                   CASE WHEN n > 10 THEN %(now)s::timestamptz - n * interval '1 hour' END,
                   %(now)s::timestamptz - n * interval '5 hours'
            FROM accounts_user u, generate_series(1, 30) AS n
            """
        )

    def reset_sequences(self) -> None:
        # Rows inserted with explicit ids: move each identity past them so that the
        # app's own inserts do not collide.
        for label in DOMAIN_APPS:
            for model in apps.get_app_config(label).get_models():
                if model._meta.pk.name != "id" or not model._meta.pk.get_internal_type().endswith("AutoField"):
                    continue
                table = model._meta.db_table
                statement = (
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), coalesce(max(id), 0) + 1, false)"
                )
                self.sql(f'{statement} FROM "{table}"')
