"""Each kind's payload read into an InboundDeal (handoffs.inbound.mapping): no database."""

import datetime
from decimal import Decimal

import pytest

from handoffs.choices import ContactRole, Stage
from handoffs.inbound.mapping import MappingError, map_generic, map_hubspot, map_salesforce
from tests.handoffs.inbound_helpers import sample


def test_hubspots_legacy_body_with_value_objects_and_epoch_milliseconds_is_read():
    # given: the workflow's legacy body, each property as {"value": …}
    body = sample("hubspot_deal_won.json")
    body["properties"] = {key: {"value": value, "versions": []} for key, value in body["properties"].items()}
    body["properties"]["closedate"] = {"value": "1741305600000"}  # 2025-03-07T00:00:00Z
    # when
    deal = map_hubspot(body)
    # then
    assert (deal.external_id, deal.amount, deal.won) == ("9876543210", Decimal("48000.00"), True)
    assert deal.closed_on == datetime.date(2025, 3, 7)
    assert deal.owner_email == "rita@baton.example"


def test_hubspot_properties_may_be_sent_at_the_top_level():
    body = sample("hubspot_deal_won.json")
    flat = {**body["properties"], "associations": body["associations"]}
    assert map_hubspot(flat).title == "Northwind — onboarding platform"


def test_a_hubspot_deal_still_open_maps_to_baton_stage_and_does_not_close():
    body = sample("hubspot_deal_won.json")
    body["properties"]["dealstage"] = "presentationscheduled"
    deal = map_hubspot(body)
    assert (deal.won, deal.lost, deal.stage) == (False, False, Stage.DISCOVER)


def test_salesforce_contact_roles_may_come_as_a_sub_query_and_iswon_decides():
    body = sample("salesforce_opportunity_won.json")
    opportunity = body["Opportunity"]
    opportunity["OpportunityContactRoles"] = {"totalSize": 2, "records": opportunity["OpportunityContactRoles"]}
    opportunity["StageName"] = "Contract signed (custom)"
    deal = map_salesforce(body)
    assert deal.won
    assert [contact.role for contact in deal.contacts] == [ContactRole.DECISION_MAKER, ContactRole.USER]
    assert deal.account_domain == "contoso.example"
    assert deal.context["context_talked_to"] == "VP Operations and two logistics managers."


def test_a_salesforce_custom_open_stage_without_iswon_is_unmappable():
    body = sample("salesforce_opportunity_won.json")
    body["Opportunity"].update(IsWon=False, IsClosed=False, StageName="Contract signed (custom)")
    with pytest.raises(MappingError) as error:
        map_salesforce(body)
    assert list(error.value.errors) == ["Opportunity.StageName"]


def test_generic_promises_may_be_plain_strings_and_a_bad_email_is_dropped_with_a_note():
    body = sample("generic_deal_won.json")
    body["deal"]["promises"] = ["Weekly call", {"description": "SSO", "target_date": "2025-05-01"}]
    body["contacts"][1]["email"] = "raj at litware"
    deal = map_generic(body)
    assert [(promise.description, promise.target_date) for promise in deal.promises] == [
        ("Weekly call", None),
        ("SSO", datetime.date(2025, 5, 1)),
    ]
    assert deal.contacts[1].email == ""
    assert any("contacts.1.email" in note for note in deal.notes)


def test_every_problem_is_reported_at_once_by_its_place():
    body = sample("generic_deal_won.json")
    body["deal"].update(amount=True, stage="signed", currency="ZZZ")
    body["account"]["name"] = ""
    with pytest.raises(MappingError) as error:
        map_generic(body)
    assert set(error.value.errors) == {"deal.amount", "deal.stage", "deal.currency", "account.name"}


def test_a_negative_or_not_finite_amount_is_unmappable():
    for amount in ("-5", "NaN", "Infinity"):
        body = sample("generic_deal_won.json")
        body["deal"]["amount"] = amount
        with pytest.raises(MappingError):
            map_generic(body)
