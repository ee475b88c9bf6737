"""Bodies of the accounts app's endpoints: what is read (AccountSerializer,
ContactSerializer, MeSerializer) and what may be written (the Strict… ones, which refuse
unknown fields). The rules of a change are the services'; these check only shapes."""

from __future__ import annotations

from rest_framework import serializers

from accounts.api.serializers import IdRelatedField, StrictSerializer, VisibleRelatedField
from accounts.choices import CompanySize
from accounts.models import Account, Contact, User


class UserSummarySerializer(serializers.ModelSerializer):
    """A colleague as other records name them."""

    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name"]

    def get_name(self, user: User) -> str:
        return str(user)


class MeSerializer(serializers.ModelSerializer):
    """The caller: who the token acts as."""

    name = serializers.SerializerMethodField()
    team = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = ["id", "username", "name", "email", "role", "team", "timezone"]
        read_only_fields = fields

    def get_name(self, user: User) -> str:
        return str(user)


class AccountSerializer(serializers.ModelSerializer):
    """A customer account as the API shows it."""

    owner = UserSummarySerializer(read_only=True)
    team = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "domain",
            "industry",
            "size",
            "address",
            "notes",
            "owner",
            "team",
            "health_score",
            "external_source",
            "external_id",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


def _text(max_length: int, **kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, **kwargs)


class AccountCreateSerializer(StrictSerializer):
    """A new account; the owner defaults to the caller (managers and admins may name
    a member of their teams, as on the page)."""

    name = serializers.CharField(max_length=200)
    domain = _text(200)
    industry = _text(100)
    size = serializers.ChoiceField(choices=CompanySize.choices, required=False, allow_blank=True)
    address = _text(2000)
    notes = _text(10000)
    owner = IdRelatedField(queryset=User.objects.all(), required=False)


class AccountUpdateSerializer(StrictSerializer):
    """A change to an account: only the fields sent change; `version` is the one read."""

    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    name = serializers.CharField(max_length=200, required=False)
    domain = _text(200)
    industry = _text(100)
    size = serializers.ChoiceField(choices=CompanySize.choices, required=False, allow_blank=True)
    address = _text(2000)
    notes = _text(10000)
    owner = IdRelatedField(queryset=User.objects.all(), required=False)
    owner_change_reason = _text(300, help_text="Required when `owner` changes.")


class ContactSerializer(serializers.ModelSerializer):
    """A customer contact as the API shows it."""

    class Meta:
        model = Contact
        fields = [
            "id",
            "account",
            "first_name",
            "last_name",
            "title",
            "email",
            "phone",
            "external_source",
            "external_id",
            "created_at",
        ]
        read_only_fields = fields


class ContactUpdateSerializer(StrictSerializer):
    """A change to a contact: only the fields sent change."""

    first_name = serializers.CharField(max_length=100, required=False)
    last_name = _text(100)
    title = _text(150)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    phone = _text(50)


class ContactCreateSerializer(ContactUpdateSerializer):
    """A new contact of an account the caller may read (and change)."""

    account = VisibleRelatedField(visible="visible_accounts")
    first_name = serializers.CharField(max_length=100)
