"""The rows of My hand-offs' "Mine" and "Sold by me" tables, written as HTML once per
page in Python.

A delivery lead runs ~110 hand-offs, each row with up to three next steps and a "Done"
form per step: in the template a row cost ~40 variable and `{% if %}` nodes, two date
filters, a `{% csrf_token %}` per form and an include, about half of the page's CPU
(issue 17's profile: web CPU ~52 ms a request under load). Here a row is a few format
strings filled with values escaped once. The same function writes the single row htmx
swaps in after a step is ticked from the list (with its notice or error): one copy of the
markup (the template it replaced is frozen in tests/handoffs/test_my_handoff_rows.py,
which holds the rows to it).
"""

from __future__ import annotations

from html import escape

from django.utils.safestring import SafeString, mark_safe

from handoffs.models import Handoff
from handoffs.templatetags.handoff_tags import day_date, status_badge

# `notice` and `step_error` are the tick's outcome on the single row htmx swaps in; a list
# row has neither (their lines stay blank, as the template wrote them).
ROW = (
    "\n"
    '<tr id="my-handoff-{pk}" data-testid="my-handoff">\n'
    '  <td><a href="{detail_url}">{deal}</a><div class="small text-body-secondary">{account}</div></td>\n'
    '  <td class="text-nowrap">{closed_on}</td>\n'
    "  <td>{person}</td>\n"
    "  <td>{badge}{overdue}</td>\n"
    "  <td>\n"
    "    {notice}\n"
    "    {step_error}\n"
    '    <ul class="list-unstyled mb-0 next-steps">\n'
    "      {steps}\n"
    "    </ul>\n"
    "    {all_open}\n"
    "  </td>\n"
    "</tr>\n"
)
NOTICE = '<div class="small text-success" role="status"><i class="bi bi-check-circle" aria-hidden="true"></i> {}</div>'
STEP_ERROR = '<div class="small text-danger" role="alert">{}</div>'
OVERDUE = ' <span class="overdue small">overdue</span>'
STEP = """
      <li class="next-step" data-testid="next-step">
        {form}
        <span class="next-step-title">{title}</span>
        <span class="small text-nowrap{due_class}">due {due_on}{late}</span>
      </li>
      """
STEP_FORM = """
        <form method="post" action="{complete_url}" hx-post="{complete_url}" hx-target="#my-handoff-{pk}" hx-swap="outerHTML" hx-disabled-elt="find button"><input type="hidden" name="csrfmiddlewaretoken" value="{csrf_token}">
          <input type="hidden" name="row" value="my_handoffs">
          <input type="hidden" name="next" value="{next_url}">
          <button class="btn btn-sm btn-outline-success" type="submit" data-testid="tick-step"><i class="bi bi-check2" aria-hidden="true"></i> Done<span class="visually-hidden">: {title}</span></button>
        </form>
        """
NO_STEP = """
      <li class="small text-body-secondary">No open step: everything is done or skipped.</li>
      """
ALL_OPEN = '<a class="small" href="{detail_url}">All {count} open steps</a>'


def my_work_rows(
    handoffs: list[Handoff],
    *,
    user_pk: int,
    csrf_token: str,
    next_url: str,
    notice: str = "",
    step_error: str = "",
) -> SafeString:
    """The rows of hand-offs from handoffs.selectors.handoffs.my_handoffs (with
    `next_steps`, `open_step_count`, `is_overdue`, their people) whose links the view
    set (`detail_url`, each step's `complete_url`). `notice` / `step_error`: what a tick
    did or why it was refused, shown in the row (the single row htmx swaps in)."""
    notice_html = NOTICE.format(escape(notice)) if notice else ""
    step_error_html = STEP_ERROR.format(escape(step_error)) if step_error else ""
    csrf_token = escape(csrf_token)
    next_url = escape(next_url)
    rows = []
    for handoff in handoffs:
        pk = handoff.pk
        detail_url = escape(handoff.detail_url)
        deal = handoff.deal
        if handoff.rep_id == user_pk:
            person = escape(str(handoff.delivery_owner)) if handoff.delivery_owner else "—"
        else:
            person = escape(str(handoff.rep))
        steps = []
        for step in handoff.next_steps:
            title = escape(step.title)
            form = ""
            if step.may_tick:
                complete_url = escape(step.complete_url)
                form = STEP_FORM.format(
                    complete_url=complete_url, pk=pk, csrf_token=csrf_token, next_url=next_url, title=title
                )
            steps.append(
                STEP.format(
                    form=form,
                    title=title,
                    due_class=" overdue" if step.is_late else " text-body-secondary",
                    due_on=escape(day_date(step.due_on, "d M")),
                    late=" · late" if step.is_late else "",
                )
            )
        shown = len(handoff.next_steps)
        rows.append(
            ROW.format(
                pk=pk,
                notice=notice_html,
                step_error=step_error_html,
                detail_url=detail_url,
                deal=escape(str(deal)),
                account=escape(str(deal.account)),
                closed_on=escape(day_date(handoff.closed_on, "d M Y")),
                person=person,
                badge=status_badge(handoff),
                overdue=OVERDUE if handoff.is_overdue else "",
                steps="".join(steps) if steps else NO_STEP,
                all_open=ALL_OPEN.format(detail_url=detail_url, count=handoff.open_step_count)
                if handoff.open_step_count > shown
                else "",
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value above is escaped
