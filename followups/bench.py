"""Bench rows of the followups app, for `manage.py seed_bench` (after handoffs.bench):
the check-ins of every accepted hand-off (~20,000 of the 1,000,000 at scale 1 overdue),
a few of them rescheduled, and every user's notifications. Set-based SQL over the rows
of the layers below; random choices from pg_temp.bench_rand (see accounts.bench).
"""

from __future__ import annotations

import datetime

from accounts.bench import BenchSize, BenchSql, Phase, untimed

CHECKINS_AT_SCALE_1 = 1_000_000
OVERDUE_CHECKINS_AT_SCALE_1 = 20_000


def checkin_count(size: BenchSize) -> int:
    return size.rows(CHECKINS_AT_SCALE_1, minimum=100)


def overdue_checkin_count(size: BenchSize) -> int:
    return size.rows(OVERDUE_CHECKINS_AT_SCALE_1, minimum=5)


def seed_bench_data(*, cursor, size: BenchSize, now: datetime.datetime, phase: Phase = untimed) -> None:
    """Write the followups app's bench rows over the hand-offs of handoffs.bench and the
    users of accounts.bench; the tables must be empty (the command truncates them)."""
    sql = BenchSql(cursor=cursor, now=now)
    phase("check-ins", lambda: _checkins(sql, size=size))
    phase("notifications", lambda: _notifications(sql))


def _checkins(sql: BenchSql, *, size: BenchSize) -> None:
    # Check-ins of every accepted hand-off: 7, 30 and 90 days after the close, then
    # monthly; as many per hand-off as it takes to reach the target count.
    with_owner = "('accepted', 'meeting_scheduled', 'meeting_held', 'complete')"
    count_with_owner = f"SELECT count(*) FROM handoffs_handoff WHERE status IN {with_owner}"  # noqa: S608 — a constant
    handoffs_with_owner = max(1, sql.scalar(count_with_owner))
    per_handoff = checkin_count(size) / handoffs_with_owner
    sql(
        f"""
        INSERT INTO followups_checkin
            (handoff_id, account_id, rep_id, cadence_days, due_on, status, done_at, channel, sentiment, notes,
             issues_raised, referral_asked, repeat_business_asked, opened_deal_id, created_at, updated_at)
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
               NULL, h.accepted_at, h.accepted_at
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
    since = sql.today - datetime.timedelta(days=120)
    recent_done = max(
        1,
        sql.scalar("SELECT count(*) FROM followups_checkin WHERE status = 'done' AND due_on >= %(since)s", since=since),
    )
    sql(
        """
        UPDATE followups_checkin
        SET status = 'scheduled', done_at = NULL, channel = '', sentiment = '', notes = '', issues_raised = '',
            referral_asked = false, repeat_business_asked = false
        WHERE status = 'done' AND due_on >= %(since)s AND pg_temp.bench_rand(id, 26) < %(share)s
        """,
        since=since,
        share=min(1.0, overdue_checkin_count(size) / recent_done),
    )
    # A few check-ins were moved once, with a reason.
    sql(
        """
        INSERT INTO followups_checkinreschedule (checkin_id, old_due_on, new_due_on, reason, rescheduled_by_id,
                                                  created_at)
        SELECT id, due_on - 7, due_on, 'Customer on holiday that week.', rep_id, created_at + interval '1 day'
        FROM followups_checkin WHERE mod(id, 100) = 0
        """
    )


def _notifications(sql: BenchSql) -> None:
    # Thirty reminders for every user over the last week, the older ones read.
    sql(
        """
        INSERT INTO followups_notification (user_id, kind, title, body, url, read_at, created_at)
        SELECT u.id, 'reminder', 'Check-in due with a customer', 'A check-in of yours is due.', '',
               CASE WHEN n > 10 THEN %(now)s::timestamptz - n * interval '1 hour' END,
               %(now)s::timestamptz - n * interval '5 hours'
        FROM accounts_user u, generate_series(1, 30) AS n
        """
    )
