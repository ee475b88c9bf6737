"""The repeated parts of the pipeline pages written as HTML once per page in Python:
the board's cards (handoffs.views.deals._dress_cards) and the lines of My day
(handoffs.views.deals.my_day_view).

A board shows up to ~175 cards, and in the template each card cost ~35 variable and
`{% if %}` nodes, a `{% csrf_token %}` and the stage menu: ~40% of the page's CPU even
with its values formatted in the view (issue 17's profile of a rep's 127 cards). Here a card is a few format strings
filled with values escaped once. The markup is what templates/handoffs/deals/_board.html
looped over; its next step is the component's "card" variant (_next_step.html, which
htmx swaps in after an edit): tests hold them equal. My day lists up to 200 deals the
same way (its lines were about half of its CPU); the overdue and due-today lines carry
the component's "line" variant.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

from handoffs.choices import OPEN_STAGES
from handoffs.models import Deal

CARD_START = """
        <article class="card kanban-card" data-testid="card-{id}" data-movable="{movable}" data-stage-url="{stage_url}" data-version="{version}">
          <div class="card-body">
            <div class="kanban-card-top">
              <a class="kanban-card-title fw-semibold" href="{detail_url}" title="{title}">{title}</a>"""
# The compact stage menu: a native disclosure and one plain form, so it works without
# JavaScript (each stage is a submit button named "stage"); htmx posts the same form and
# swaps the board; board.js keeps the open menu inside the screen.
STAGE_MENU = """
              <details class="stage-menu" data-testid="stage-menu-{id}">
        <summary class="btn btn-sm btn-link stage-menu-toggle" title="Move to another stage"><i class="bi bi-three-dots-vertical" aria-hidden="true"></i><span class="visually-hidden">Move {title}</span></summary>
        <form class="dropdown-menu stage-menu-items" method="post" action="{stage_url}" hx-post="{stage_url}" hx-target="#board" hx-swap="outerHTML">
          <input type="hidden" name="csrfmiddlewaretoken" value="{csrf_token}">
          <input type="hidden" name="version" value="{version}">
          {menu_items}
        </form>
              </details>"""
CARD_MIDDLE = """
            </div>
            <div class="small text-body-secondary text-truncate">{whose}</div>
            <div class="small">{amount}</div>"""
# The next step as the component shows it on a card (_next_step.html, variant "card").
NEXT_STEP = """
            <div class="next-step-inline next-step-card" data-testid="next-step-{id}">
              <div class="small next-step-text{late_class}" title="{next_step}" id="next-step-{id}-card-text">
        <i class="bi bi-arrow-right-circle" aria-hidden="true"></i>{late_text} {next_step_short} · {due}
              </div>{edit_link}
            </div>{contacts}"""
NEXT_STEP_EDIT = """
              <a class="next-step-edit small" href="{next_step_url}{back_query}" hx-get="{next_step_url}{edit_query}" hx-target="closest .next-step-inline" hx-swap="outerHTML" data-testid="next-step-edit-{id}" aria-label="Change next step" aria-describedby="next-step-{id}-card-text"><i class="bi bi-pencil" aria-hidden="true"></i></a>"""
CONTACTS = """
            <div class="small text-warning-emphasis"><i class="bi bi-person-exclamation" aria-hidden="true"></i> {}</div>"""
CLOSED = """
            <div class="small text-body-secondary">Closed {}</div>"""
CARD_END = """
          </div>
        </article>"""
LATE_TEXT = '<span class="visually-hidden">Overdue:</span>'


class BoardCards:
    """Writes the cards of one board: what is the same for every card (links, formats,
    the stage menus, who may move what) given once by the view."""

    def __init__(
        self,
        *,
        may_change: Callable[[Deal], bool],
        detail_url: Callable[[int], str],
        stage_url: Callable[[int], str],
        next_step_url: Callable[[int], str],
        day_month: Callable[[datetime.date | None], str],
        whole_amount: Callable[[Decimal | None], str],
        truncated: Callable[[str, int], str],
        csrf_token: str,
        back_query: str,
        edit_query: str,
    ) -> None:
        self.may_change = may_change
        self.detail_url = detail_url
        self.stage_url = stage_url
        self.next_step_url = next_step_url
        self.day_month = day_month
        self.whole_amount = whole_amount
        self.truncated = truncated
        self.csrf_token = escape(csrf_token)
        self.back_query = escape(back_query)
        self.edit_query = escape(edit_query)

    def column(self, deals: list, *, open_column: bool, menu_items: str) -> SafeString:
        """The cards of a column (a BoardColumn's `deals`); `menu_items`: its stage
        menu's items (HTML)."""
        return mark_safe("".join(self.card(deal, open_column=open_column, menu_items=menu_items) for deal in deals))  # noqa: S308 — card() escapes every value

    def movable(self, deal) -> bool:
        return deal.stage in OPEN_STAGES and self.may_change(deal)

    def card(self, deal, *, open_column: bool, menu_items: str) -> str:
        """One card: a card of handoffs.selectors.deals.board_columns."""
        pk = deal.pk
        title = escape(deal.title)
        stage_url = escape(self.stage_url(pk))
        movable = self.movable(deal)
        html = CARD_START.format(
            id=pk,
            movable="1" if movable else "0",
            stage_url=stage_url,
            version=deal.version,
            detail_url=escape(self.detail_url(pk)),
            title=title,
        )
        if movable:
            html += STAGE_MENU.format(
                id=pk,
                title=title,
                stage_url=stage_url,
                csrf_token=self.csrf_token,
                version=deal.version,
                menu_items=menu_items,
            )
        # The owner as User.__str__ names them: the full name, else the username.
        owner = f"{deal.owner_first_name} {deal.owner_last_name}".strip() or deal.owner_username
        html += CARD_MIDDLE.format(
            whose=escape(f"{deal.account_name} · {owner}"),
            amount=escape(f"{self.whole_amount(deal.amount)} {deal.currency}"),
        )
        if not open_column:
            return html + CLOSED.format(escape(self.day_month(deal.closed_on))) + CARD_END
        late = deal.next_step_is_late
        count = deal.contact_count
        edit_link = ""
        if movable:
            next_step_url = escape(self.next_step_url(pk))
            edit_link = NEXT_STEP_EDIT.format(
                id=pk, next_step_url=next_step_url, back_query=self.back_query, edit_query=self.edit_query
            )
        return (
            html
            + NEXT_STEP.format(
                id=pk,
                late_class=" overdue" if late else "",
                next_step=escape(deal.next_step),
                late_text=LATE_TEXT if late else "",
                next_step_short=escape(self.truncated(deal.next_step, 40)),
                due=escape(self.day_month(deal.next_step_due)),
                edit_link=edit_link,
                contacts=CONTACTS.format(f"{count} contact{'' if count == 1 else 's'}") if count <= 1 else "",
            )
            + CARD_END
        )


# --- My day ----------------------------------------------------------------------------

# A next step as the component shows it on a line (_next_step.html, variant "line").
NEXT_STEP_LINE = (
    '<div class="small"><div class="next-step-inline next-step-line" data-testid="next-step-{id}">'
    '<span class="next-step-text{late_class}" id="next-step-{id}-line-text">{next_step} — due {due}</span>'
    "{late_badge}{edit_link}</div></div>"
)
DAY_OVERDUE = """
        <li class="list-group-item">
          <a href="{detail_url}" class="fw-semibold">{title}</a> <span class="text-body-secondary">· {account}</span>
          {next_step_line}
        </li>"""
DAY_DUE_TODAY = """
        <li class="list-group-item"><a href="{detail_url}" class="fw-semibold">{title}</a> <span class="text-body-secondary">· {account}</span>{next_step_line}</li>"""
DAY_LINE_EDIT = (
    ' <a class="next-step-edit small" href="{next_step_url}{back_query}" hx-get="{next_step_url}{edit_query}"'
    ' hx-target="closest .next-step-inline" hx-swap="outerHTML" data-testid="next-step-edit-{id}"'
    ' aria-label="Change next step" aria-describedby="next-step-{id}-line-text">'
    '<i class="bi bi-pencil" aria-hidden="true"></i> Change</a>'
)
DAY_CLOSING = """
        <li class="list-group-item d-flex justify-content-between">
          <span><a href="{detail_url}" class="fw-semibold">{title}</a> <span class="text-body-secondary">· {account} · {stage}</span></span>
          <span class="text-nowrap">{amount} · {close}</span>
        </li>"""
DAY_SINGLE_THREADED = """
        <li class="list-group-item">
          <a href="{detail_url}" class="fw-semibold">{title}</a> <span class="text-body-secondary">· {account} · {stage}</span>
          <div class="small text-warning-emphasis">{contacts} on this deal: add the decision maker and a champion.</div>
        </li>"""


class DayLines:
    """Writes the lines of My day's lists (Deals of handoffs.selectors.deals.my_day, each
    with `account_name`), with what is the same for every line given once by the view."""

    def __init__(
        self,
        *,
        may_change: Callable[[Deal], bool],
        detail_url: Callable[[int], str],
        next_step_url: Callable[[int], str],
        due_label: Callable[[datetime.date | None], str],
        day_month: Callable[[datetime.date | None], str],
        whole_amount: Callable[[Decimal | None], str],
        stage_labels: dict[str, str],
        back_query: str,
        edit_query: str,
    ) -> None:
        self.may_change = may_change
        self.detail_url = detail_url
        self.next_step_url = next_step_url
        self.due_label = due_label
        self.day_month = day_month
        self.whole_amount = whole_amount
        self.stage_labels = stage_labels
        self.back_query = escape(back_query)
        self.edit_query = escape(edit_query)

    def next_steps(self, deals: list[Deal], *, late: bool) -> SafeString:
        """The overdue (`late`) or due-today list: each deal's next step as the
        component's "line" variant shows it."""
        return mark_safe("".join(self._next_step_line(deal, late=late) for deal in deals))  # noqa: S308 — values escaped

    def closing(self, deals: list[Deal]) -> SafeString:
        return mark_safe(  # noqa: S308 — values escaped
            "".join(
                DAY_CLOSING.format(
                    detail_url=escape(self.detail_url(deal.pk)),
                    title=escape(deal.title),
                    account=escape(deal.account_name),
                    stage=escape(self.stage_labels.get(deal.stage, deal.stage)),
                    amount=escape(f"{self.whole_amount(deal.amount)} {deal.currency}"),
                    close=escape(self.day_month(deal.expected_close_date)),
                )
                for deal in deals
            )
        )

    def single_threaded(self, deals: list[Deal]) -> SafeString:
        return mark_safe(  # noqa: S308 — values escaped
            "".join(
                DAY_SINGLE_THREADED.format(
                    detail_url=escape(self.detail_url(deal.pk)),
                    title=escape(deal.title),
                    account=escape(deal.account_name),
                    stage=escape(self.stage_labels.get(deal.stage, deal.stage)),
                    contacts="Only one customer contact" if deal.contact_count else "No customer contact",
                )
                for deal in deals
            )
        )

    def _next_step_line(self, deal: Deal, *, late: bool) -> str:
        pk = deal.pk
        edit_link = ""
        if deal.stage in OPEN_STAGES and self.may_change(deal):
            edit_link = DAY_LINE_EDIT.format(
                id=pk,
                next_step_url=escape(self.next_step_url(pk)),
                back_query=self.back_query,
                edit_query=self.edit_query,
            )
        next_step_line = NEXT_STEP_LINE.format(
            id=pk,
            late_class=" overdue" if late else "",
            next_step=escape(deal.next_step),
            due=escape(self.due_label(deal.next_step_due)),
            late_badge=' <span class="badge text-bg-danger">Overdue</span>' if late else "",
            edit_link=edit_link,
        )
        return (DAY_OVERDUE if late else DAY_DUE_TODAY).format(
            detail_url=escape(self.detail_url(pk)),
            title=escape(deal.title),
            account=escape(deal.account_name),
            next_step_line=next_step_line,
        )
