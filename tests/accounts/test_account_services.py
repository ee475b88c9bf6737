import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.choices import EventVerb
from accounts.common.edits import StaleEditError
from accounts.models import Account, Contact, OwnershipChange, TimelineEvent
from accounts.services import account_create, account_update, contact_create, contact_update
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def test_it_creates_an_account_owned_by_the_rep_with_its_first_ownership_row(rep):
    # when
    account = account_create(actor=rep, name="  Acme Ltd ", domain="acme.test", industry="Retail")
    # then
    assert (account.name, account.owner, account.team) == ("Acme Ltd", rep, rep.team)
    history = OwnershipChange.objects.get(account=account)
    assert (history.from_user, history.to_user, history.changed_by) == (None, rep, rep)
    assert TimelineEvent.objects.get(account=account).verb == EventVerb.ACCOUNT_CREATED


def test_a_delivery_lead_cannot_create_an_account(delivery_lead):
    with pytest.raises(PermissionDenied):
        account_create(actor=delivery_lead, name="Acme")
    assert not Account.objects.exists()


def test_a_rep_cannot_give_a_new_account_to_someone_else(rep, other_rep):
    with pytest.raises(ValidationError) as error:
        account_create(actor=rep, name="Acme", owner=other_rep)
    assert "owner" in error.value.message_dict
    assert not Account.objects.exists()


def test_a_manager_creates_an_account_for_a_rep_of_their_team(manager, rep):
    account = account_create(actor=manager, name="Acme", owner=rep)
    assert account.owner == rep


def test_it_updates_an_account_and_records_what_changed(rep):
    # given
    account = AccountFactory(owner=rep, industry="Software")
    # when
    account_update(actor=rep, account=account, expected_version=1, industry="Logistics", name=account.name)
    # then
    account.refresh_from_db()
    assert (account.industry, account.version) == ("Logistics", 2)
    event = TimelineEvent.objects.get(account=account)
    assert event.verb == EventVerb.ACCOUNT_UPDATED
    assert "industry" in event.message


def test_a_stale_account_edit_writes_nothing(rep):
    # given: someone saved version 1 already
    account = AccountFactory(owner=rep, industry="Software")
    account_update(actor=rep, account=account, expected_version=1, industry="Logistics")
    # when
    with pytest.raises(StaleEditError):
        account_update(actor=rep, account=Account.objects.get(pk=account.pk), expected_version=1, industry="Mining")
    # then
    account.refresh_from_db()
    assert (account.industry, account.version) == ("Logistics", 2)


def test_a_rep_cannot_edit_a_team_mates_account(rep, other_rep):
    account = AccountFactory(owner=other_rep)
    with pytest.raises(PermissionDenied):
        account_update(actor=rep, account=account, expected_version=1, industry="Mining")


def test_a_manager_reassigns_an_account_with_a_reason_kept_in_its_history(manager, rep, other_rep):
    # given
    account = AccountFactory(owner=rep)
    # when
    account_update(
        actor=manager, account=account, expected_version=1, owner=other_rep, owner_change_reason="Territory change"
    )
    # then
    account.refresh_from_db()
    assert account.owner == other_rep
    change = OwnershipChange.objects.get(account=account)
    assert (change.from_user, change.to_user, change.reason) == (rep, other_rep, "Territory change")


def test_reassigning_an_account_needs_a_reason(manager, rep, other_rep):
    account = AccountFactory(owner=rep)
    with pytest.raises(ValidationError) as error:
        account_update(actor=manager, account=account, expected_version=1, owner=other_rep)
    assert "owner_change_reason" in error.value.message_dict
    account.refresh_from_db()
    assert (account.owner, account.version) == (rep, 1)


def test_it_adds_a_contact_and_records_it_on_the_account_timeline(rep):
    account = AccountFactory(owner=rep)
    contact = contact_create(actor=rep, account=account, first_name="Jo", last_name="Park", email="jo@acme.test")
    assert contact.account == account
    assert TimelineEvent.objects.get(account=account).verb == EventVerb.CONTACT_ADDED


def test_a_duplicate_contact_email_within_an_account_is_refused(rep):
    # given
    account = AccountFactory(owner=rep)
    contact_create(actor=rep, account=account, first_name="Jo", email="jo@acme.test")
    # when
    with pytest.raises(ValidationError) as error:
        contact_create(actor=rep, account=account, first_name="Joanna", email="JO@acme.test")
    # then
    assert "email" in error.value.message_dict
    assert Contact.objects.filter(account=account).count() == 1


def test_the_same_email_may_exist_in_another_account(rep):
    contact_create(actor=rep, account=AccountFactory(owner=rep), first_name="Jo", email="jo@acme.test")
    contact = contact_create(actor=rep, account=AccountFactory(owner=rep), first_name="Jo", email="jo@acme.test")
    assert contact.pk


def test_editing_a_contact_to_a_taken_email_is_refused(rep):
    account = AccountFactory(owner=rep)
    ContactFactory(account=account, email="jo@acme.test")
    other = ContactFactory(account=account, email="kim@acme.test")
    with pytest.raises(ValidationError):
        contact_update(actor=rep, contact=other, email="jo@acme.test")
    other.refresh_from_db()
    assert other.email == "kim@acme.test"


def test_a_rep_cannot_add_contacts_to_another_teams_account(rep, outsider_team_rep):
    account = AccountFactory(owner=outsider_team_rep)
    with pytest.raises(PermissionDenied):
        contact_create(actor=rep, account=account, first_name="Jo")
