"""The README's tour (`make screenshots`, tests/screenshots.py) finds its pages in the demo
data, and each answers its person: a change to the demo data or a URL that would leave
`make screenshots` failing, or photographing an error page, fails here first. (The suite
never takes the screenshots themselves.)"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from tests.screenshots import tour, tour_records

pytestmark = pytest.mark.django_db


def test_every_page_of_the_tour_answers_the_person_who_looks_at_it():
    # given: the demo data
    call_command("seed_demo", stdout=io.StringIO())

    # when
    shots = tour(**tour_records())

    # then: ten pages, each shown to its person (the status page to a customer, signed out)
    assert len({shot.name for shot in shots}) == len(shots) == 10
    for shot in shots:
        client = Client()
        if shot.username is not None:
            client.force_login(User.objects.get(username=shot.username))
        response = client.get(shot.path)
        assert response.status_code == 200, (shot.name, shot.path, response.status_code)
    status_page = Client().get(next(shot.path for shot in shots if shot.name == "customer-status"))
    assert "Evergreen Schools" in status_page.content.decode()
