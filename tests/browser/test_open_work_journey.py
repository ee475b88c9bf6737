"""A manager opens the open work of a rep who was deactivated, gives all their open
deals to another rep, and is told nothing is left."""

from __future__ import annotations

import pytest
from django.urls import reverse

from handoffs.models import Deal
from tests.factories import DealFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_gives_a_deactivated_reps_deals_to_another_rep(page, login_as, rep, other_rep, manager):
    # given: the rep left; two open deals are all they still hold (their account is
    # another rep's already)
    first = DealFactory(owner=rep, title="Northwind renewal")
    second = DealFactory(owner=rep, title="Northwind upsell", account=first.account)
    first.account.owner = other_rep
    first.account.save(update_fields=["owner"])
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    login_as(manager)

    # when: the manager opens the rep's open work and gives all the deals to the other rep
    page.goto(reverse("followups:open_work", args=[rep.pk]))
    page.get_by_role("heading", name=f"Open work of {rep}").wait_for()
    deals = page.locator("section#deals")
    assert "Northwind renewal" in deals.inner_text() and "Northwind upsell" in deals.inner_text()
    deals.get_by_label("Give these deals to").select_option(label=f"{other_rep} ({other_rep.team})")
    deals.get_by_role("button", name="Give all 2 open deals").click()

    # then
    page.get_by_text("Nothing left").wait_for()
    page.get_by_text(f"2 open deals given to {other_rep}.").wait_for()
    assert set(Deal.objects.filter(pk__in=[first.pk, second.pk]).values_list("owner_id", flat=True)) == {other_rep.pk}
    assert violations == []
