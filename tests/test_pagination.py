"""The capped paginator big lists use (accounts.common.pagination), and the bench's budget
verdict (bench/report.py): the two rules issue 17 adds for lists and for speed."""

from __future__ import annotations

import pytest
from django.db import connection
from django.template import RequestContext, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.common.pagination import CappedPaginator, narrows_nothing
from accounts.models import Team
from bench.report import budget_verdict


def test_under_the_cap_the_count_is_exact_and_the_last_page_offered():
    paginator = CappedPaginator(list(range(95)), 10, cap=100)
    assert paginator.count == 95
    assert not paginator.is_capped
    assert paginator.count_display == "95"
    assert paginator.num_pages == 10
    assert paginator.num_pages_display == "10"


def test_at_exactly_the_cap_the_count_is_still_exact():
    paginator = CappedPaginator(list(range(100)), 10, cap=100)
    assert (paginator.count, paginator.is_capped, paginator.num_pages) == (100, False, 10)


def test_past_the_cap_it_says_so_and_pages_only_the_first_cap_rows():
    paginator = CappedPaginator(list(range(1234)), 10, cap=100)
    assert paginator.is_capped
    assert paginator.count_display == "100+"
    assert paginator.num_pages == 10
    assert paginator.num_pages_display == "10+"
    # A page beyond the cap falls back to the last page of the first `cap` rows.
    page = paginator.get_page(500)
    assert page.number == 10
    assert list(page) == list(range(90, 100))


def test_the_default_cap_is_two_thousand_with_separators():
    paginator = CappedPaginator(list(range(2_001)), 25)
    assert paginator.count_display == "2,000+"
    assert paginator.num_pages == 80
    assert CappedPaginator(list(range(1_999)), 25).count_display == "1,999"


@pytest.mark.django_db
def test_a_queryset_is_counted_with_one_limited_query():
    Team.objects.bulk_create(Team(name=f"Team {number:03d}") for number in range(30))
    paginator = CappedPaginator(Team.objects.order_by("name"), 5, cap=12)
    with CaptureQueriesContext(connection) as captured:
        assert paginator.count == 13
    assert len(captured.captured_queries) == 1
    sql = captured.captured_queries[0]["sql"].upper()
    assert "LIMIT 13" in sql and "ORDER BY" not in sql
    assert paginator.is_capped and paginator.count_display == "12+"
    assert [team.name for team in paginator.get_page(3)] == ["Team 010", "Team 011"]


@pytest.mark.django_db
def test_a_probe_past_the_cap_settles_the_count_without_counting_the_list():
    Team.objects.bulk_create(Team(name=f"Team {number:03d}") for number in range(30))
    everything = Team.objects.order_by("name")
    paginator = CappedPaginator(everything, 5, cap=12, cap_probe=Team.objects.filter(name__gte="Team 010"))
    with CaptureQueriesContext(connection) as captured:
        assert paginator.count == 13
    # one query: the probe's (20 rows pass the cap of 12); the list is not counted
    assert len(captured.captured_queries) == 1
    assert "Team 010" in captured.captured_queries[0]["sql"]
    assert paginator.is_capped and paginator.count_display == "12+"


@pytest.mark.django_db
def test_a_probe_under_the_cap_leaves_the_count_to_the_list():
    Team.objects.bulk_create(Team(name=f"Team {number:03d}") for number in range(10))
    probe = Team.objects.filter(name__gte="Team 008")
    paginator = CappedPaginator(Team.objects.order_by("name"), 5, cap=12, cap_probe=probe)
    with CaptureQueriesContext(connection) as captured:
        assert paginator.count == 10
    assert len(captured.captured_queries) == 2  # the probe (2 rows), then the list
    assert not paginator.is_capped and paginator.count_display == "10"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "narrows"),
    [
        (None, False),
        ({}, False),
        ({"o": "-name"}, False),  # an order is not a filter
        ({"name": ""}, False),
        ({"name": "Team 1"}, True),
        ({"manager": "not a number"}, False),  # refused, so it filters nothing
    ],
)
def test_narrows_nothing_says_whether_any_filter_has_a_value(data, narrows):
    import django_filters

    class TeamFilter(django_filters.FilterSet):
        o = django_filters.OrderingFilter(fields=("name",))

        class Meta:
            model = Team
            fields = ["name", "manager"]

    filterset = TeamFilter(data, queryset=Team.objects.all())
    assert narrows_nothing(filterset) is not narrows


@pytest.mark.django_db
def test_narrows_nothing_asks_a_declared_filter_meta_does_not_list():
    import django_filters

    class TeamFilter(django_filters.FilterSet):
        starts = django_filters.CharFilter(field_name="name", lookup_expr="startswith")

        class Meta:
            model = Team
            fields = ["manager"]

    assert narrows_nothing(TeamFilter({"starts": "Team 1"}, queryset=Team.objects.all())) is False
    assert narrows_nothing(TeamFilter({"starts": ""}, queryset=Team.objects.all())) is True


def test_the_pagination_partial_hides_the_last_page_link_when_capped():
    template = Template("{% include 'partials/pagination.html' %}")
    request = RequestFactory().get("/deals/?stage=open&page=2")
    capped = CappedPaginator(list(range(1000)), 10, cap=100).get_page(2)
    html = template.render(RequestContext(request, {"page_obj": capped}))
    assert "Page 2 of 10+" in html
    assert 'aria-label="Last"' not in html
    assert "stage=open&amp;page=3" in html
    exact = CappedPaginator(list(range(50)), 10, cap=100).get_page(2)
    html = template.render(RequestContext(request, {"page_obj": exact}))
    assert "Page 2 of 5" in html and 'aria-label="Last"' in html


def _page(p95_ms, share, *, status="ok", requests=100):
    return {"status": status, "rps_vs_ceiling": share, "load": {"requests": requests, "p95_ms": p95_ms}}


def test_the_budget_verdict_names_each_limit_a_page_missed():
    assert budget_verdict(_page(99.9, 0.10)) == "within"
    assert budget_verdict(_page(100.0, 0.5)) == "within"
    assert budget_verdict(_page(150.4, 0.5)) == "over: p95 150 > 100 ms"
    assert budget_verdict(_page(80, 0.05)) == "over: 0.05 of ceiling < 0.10"
    assert budget_verdict(_page(300, 0.02)) == "over: p95 300 > 100 ms, 0.02 of ceiling < 0.10"
    assert budget_verdict(_page(80, 0.5, status="not built")) == "–"
    assert budget_verdict(_page(80, 0.5, requests=0)) == "–"
    assert budget_verdict({**_page(5, 1.0), "is_ceiling": True}) == "(reference)"
