import pytest
from django.core.management import call_command

from accounts.choices import Role
from accounts.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_a_user_per_role_and_prints_their_logins(capsys):
    call_command("seed_demo")
    output = capsys.readouterr().out
    assert {user.role for user in User.objects.all()} == set(Role.values)
    for username in ("rita", "dana", "maria", "ada"):
        assert f"{username}" in output
        assert User.objects.get(username=username).check_password("baton-demo")
    assert "baton-demo" in output


def test_seed_demo_if_empty_loads_nothing_twice(capsys):
    call_command("seed_demo")
    users_before = User.objects.count()
    call_command("seed_demo", "--if-empty")
    assert User.objects.count() == users_before
    assert "already has data" in capsys.readouterr().out
