"""Template tags with which other apps' pages show followups data without their views
knowing about it (the account page's check-in panel)."""

from django import template

from accounts.common.links import url_for_each
from accounts.models import Account
from followups.access import checkin_workable_in_memory
from followups.models import CheckIn
from followups.selectors.checkins import checkins_for_account

register = template.Library()


@register.simple_tag(takes_context=True)
def account_checkins(context: template.Context, account: Account) -> list[CheckIn]:
    """`{% account_checkins account as checkins %}`: the account's check-ins (one query),
    each with `can_work` set for the user viewing the page, and the links of its buttons
    (`log_url`, `reschedule_url`)."""
    checkins = checkins_for_account(account)
    user = context.get("user")
    # The buttons' links, reversed once for the panel, not per check-in.
    log_url = url_for_each("followups:checkin_log")
    reschedule_url = url_for_each("followups:checkin_reschedule")
    for checkin in checkins:
        checkin.can_work = user is not None and checkin_workable_in_memory(user, checkin)
        checkin.log_url = log_url(checkin.pk)
        checkin.reschedule_url = reschedule_url(checkin.pk)
    return checkins
