"""Bench rows of the handoffs app, for `manage.py seed_bench` (after accounts.bench):
the playbooks, the deals and their contacts, the hand-off of every won deal with its
steps and three-way meeting, and the promises. The accounts rows these imply — each
accepted hand-off's change of account owner, and every deal's timeline — are written by
accounts.bench from the rows here.

The spread is deliberately imperfect (overdue next steps, single-threaded deals, won
deals without context, declined or unaccepted hand-offs, overdue steps, incomplete
meetings, broken promises) so that every dropped-baton rule has work to do. Every row
comes from set-based SQL; random choices from pg_temp.bench_rand (see accounts.bench).
"""

from __future__ import annotations

import datetime

from django.contrib.contenttypes.models import ContentType

from accounts.bench import (
    BenchPeople,
    BenchSize,
    BenchSql,
    Phase,
    accounts_change_owner,
    events_record,
    untimed,
)
from handoffs.choices import StepOwnerRole
from handoffs.models import Deal, Playbook, PlaybookStep

DEALS_AT_SCALE_1 = 100_000

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


def deal_count(size: BenchSize) -> int:
    return size.rows(DEALS_AT_SCALE_1, minimum=50)


def seed_bench_data(
    *, cursor, size: BenchSize, now: datetime.datetime, people: BenchPeople, phase: Phase = untimed
) -> None:
    """Write the handoffs app's bench rows over accounts.bench's accounts and people;
    the tables must be empty (the command truncates them)."""
    sql = BenchSql(cursor=cursor, now=now)
    phase("playbooks", _playbooks)
    phase("deals", lambda: _deals(sql, size=size))
    phase("hand-offs and steps", lambda: _handoffs_and_steps(sql, people=people))
    phase("meetings and ownership", lambda: _meetings_and_ownership(sql))
    phase("promises", lambda: _promises(sql))
    phase("timeline", lambda: _timeline(sql))


def _playbooks() -> None:
    for index, (name, segment, is_default, cadence, steps) in enumerate(PLAYBOOKS, 1):
        [playbook] = Playbook.objects.bulk_create(
            [Playbook(id=index, name=name, segment=segment, is_default=is_default, checkin_cadence=cadence)]
        )
        PlaybookStep.objects.bulk_create(
            PlaybookStep(playbook=playbook, position=position, title=title, owner_role=role, due_offset_days=days)
            for position, (title, role, days) in enumerate(steps, 1)
        )


def _deals(sql: BenchSql, *, size: BenchSize) -> None:
    # Stages: 60% won, 15% lost, 25% open. Closed deals closed over the past ~2 years;
    # open deals were created in the past 6 months. ~15% of open next steps are
    # overdue and ~3% missing; ~12% of deals have no lead source or no context.
    sql(
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
        deals=deal_count(size),
        accounts=size.accounts,
    )
    # One contact on ~25% of deals (single-threaded), up to three otherwise.
    sql(
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


def _handoffs_and_steps(sql: BenchSql, *, people: BenchPeople) -> None:
    people.load_lookup_tables(sql)
    # The hand-off of every won deal (its id is the deal's), its status by age: recent
    # ones are still being proposed and accepted, old ones mostly complete, with a
    # few dropped along the way at every age.
    sql(
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
        leads=len(people.delivery_leads),
    )
    # Steps from the playbook; past-due steps mostly done, some skipped, some left
    # open (step_overdue); every step of a complete hand-off done.
    sql(
        """
        INSERT INTO handoffs_handoffstep
            (handoff_id, position, title, owner_role, assignee_id, required, due_on, status, done_by_id,
             done_at, skip_reason, updated_at)
        SELECT handoff_id, position, title, owner_role, assignee_id, required, due_on, status,
               CASE WHEN status = 'done' THEN coalesce(assignee_id, rep_id) END,
               CASE WHEN status = 'done' THEN least(%(now)s, due_on - 1 + interval '15 hours') END,
               CASE WHEN status = 'skipped' THEN 'Not needed for this customer.' ELSE '' END,
               created_at
        FROM (
            SELECT h.id AS handoff_id, ps.position, ps.title, ps.owner_role, ps.required, h.rep_id, h.created_at,
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


def _meetings_and_ownership(sql: BenchSql) -> None:
    # One three-way meeting per hand-off that got that far (its id is the hand-off's).
    sql(
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
    sql(
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
    accounts_change_owner(
        sql,
        changes="""
        SELECT d.account_id, h.rep_id, h.delivery_owner_id, h.delivery_owner_id,
               'Accepted the hand-off of ' || d.title, h.accepted_at
        FROM handoffs_handoff h JOIN handoffs_deal d ON d.id = h.deal_id
        WHERE h.delivery_owner_id IS NOT NULL
        ORDER BY h.id
        """,
    )


def _promises(sql: BenchSql) -> None:
    # 0–2 promises on late-stage and won deals, one more on won deals. Reviewed in
    # held meetings: most confirmed (then kept), some broken or dropped.
    sql(
        """
        INSERT INTO handoffs_promise
            (deal_id, description, target_date, status, original_description, status_note, reviewed_at,
             created_by_id, created_at, updated_at)
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
               d.owner_id, d.created_at + k * interval '1 day',
               least(%(now)s::timestamptz, d.created_at + k * interval '1 day')
        FROM handoffs_deal d
        LEFT JOIN handoffs_handoff h ON h.deal_id = d.id
        CROSS JOIN LATERAL generate_series(
            1, floor(pg_temp.bench_rand(d.id, 24) * 3)::integer + CASE WHEN d.stage = 'won' THEN 1 ELSE 0 END
        ) AS k
        WHERE d.stage IN ('propose', 'negotiate', 'won')
        """
    )


def _timeline(sql: BenchSql) -> None:
    # What the deal and hand-off services record on each step, at the moment it happened.
    events_record(
        sql,
        events="""
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
        deal_type=ContentType.objects.get_for_model(Deal).id,
    )
