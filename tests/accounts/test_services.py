import pytest
from django.core.exceptions import ValidationError

from accounts.choices import EventVerb
from accounts.common.edits import StaleEditError, bump_version
from accounts.models import OwnershipChange, TimelineEvent
from accounts.services import account_change_owner
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_changing_the_owner_keeps_the_history_and_writes_a_timeline_event(rep, delivery_lead, manager):
    # given
    account = AccountFactory(owner=rep)
    # when
    change = account_change_owner(
        account=account, new_owner=delivery_lead, changed_by=manager, reason="Hand-off accepted"
    )
    # then
    account.refresh_from_db()
    assert account.owner == delivery_lead
    assert (change.from_user, change.to_user, change.changed_by) == (rep, delivery_lead, manager)
    event = TimelineEvent.objects.get(account=account)
    assert event.verb == EventVerb.OWNER_CHANGED


def test_giving_the_account_to_its_owner_again_writes_nothing(rep):
    account = AccountFactory(owner=rep)
    assert account_change_owner(account=account, new_owner=rep, changed_by=rep, reason="again") is None
    assert not OwnershipChange.objects.exists()


def test_an_owner_change_needs_a_reason(rep, delivery_lead):
    account = AccountFactory(owner=rep)
    with pytest.raises(ValidationError):
        account_change_owner(account=account, new_owner=delivery_lead, changed_by=rep, reason="  ")
    assert not OwnershipChange.objects.exists()


def test_of_two_edits_from_the_same_version_only_the_first_passes(rep):
    account = AccountFactory(owner=rep)
    bump_version(type(account), pk=account.pk, expected_version=1, what="This account")
    with pytest.raises(StaleEditError):
        bump_version(type(account), pk=account.pk, expected_version=1, what="This account")
