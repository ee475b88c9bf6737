"""Global search (issue 16): the deals, accounts, contacts and hand-offs a user may see
whose words contain what they typed.

The contract:
- **Visibility** is handoffs.access, the one rule of every page: deals_visible_to,
  accounts_visible_to, handoffs_visible_to; a contact is visible through its account.
  A URL a search result links to therefore never answers 404 to the user who saw it.
- **Matching**: the query is split into words (at most MAX_WORDS); a row matches when
  every word is a case-insensitive substring of one of its searched fields, so "hana ito"
  finds Hana Ito and "fleet roll" finds "Fleet tracking roll-out". A word shorter than
  SHORT_WORD_LENGTH characters ("gl", the "i" of "hana i") must start a field or a word
  of it instead: two letters are a beginning, and "gl" inside "English" is noise.
  Searched fields: a deal's title; an account's name and domain; a contact's first and
  last name and e-mail; a hand-off's deal title and account name. An erased contact's
  fields hold only "Erased contact #<id>" (accounts.services.contact_anonymise), so its
  old name and e-mail never match, and it is shown by that name.
- **Indexes**: `icontains` is `UPPER(col::text) LIKE UPPER('%word%')` on PostgreSQL,
  and every searched column has a trigram GIN index on exactly that expression
  (migrations handoffs 0004, and 0015 for a contact's e-mail), so a word of three
  characters or more is answered by the indexes (a BitmapOr across a row's fields), not
  a scan. A short word is matched as `LIKE 'GL%' OR LIKE '% GL%'`, whose leading blank
  gives pg_trgm its word-start trigrams ("  g", " gl"), so the same indexes answer it
  (`LIKE '%GL%'` has no trigram at all and would read every row).
  SQLite (make run) runs the same queries without indexes.
- **Relevance**: exact matches first, then prefixes of the whole query, then the rest;
  within each, deals and hand-offs by recency, accounts and contacts by name.
- **Cost**: one query per kind, plus one read of the accounts the user's deals open
  (accounts_visible_to's `deal_accounts_as_list`: read once, shared by the accounts and
  contacts queries, instead of a subquery over the team's ~17k deals in each); for a
  manager plus the read of their teams that each visibility rule makes. The same
  number whatever the number of rows; a query shorter than MIN_QUERY_LENGTH runs none.
  Each kind ranks narrow rows (its ids and sort keys) in a subquery cut at the limit;
  only the rows kept are read in full, joined to what the result shows (`.only()` those
  columns) and put in order again by the same keys. Ranking the full rows sorted ~2,000
  matching deals with every column (~750 kB, in parallel workers) and hashed all 20,000
  accounts to join a contact's.
  The hand-offs query hands its words to the visibility rule (handoffs_visible_to's
  `of_deals`), so the user's deals and the matching deals meet in the deal indexes (a
  BitmapAnd) and only the matching hand-offs are read; filtering the rule's result
  joined ~7,500 hand-offs to their deals to check each one. They are ranked without
  joining them to their deal and account (`_handoff_relevance`: whether the deal id is
  among the deals whose title or account's name is the query or starts with it, two
  sets hashed once, through the btree prefix indexes of migration 0016): for a
  word in one deal in eight ("migration", ~2,500 hand-offs a manager sees) 12k buffers
  instead of 27k. Measured at 100k deals: README, Benchmarks, "Search".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from operator import and_, or_

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Concat

from accounts.common.expressions import InSubquery
from accounts.models import Account, Contact, User
from handoffs.access import accounts_visible_to, deals_visible_to, handoffs_visible_to
from handoffs.models import Deal, Handoff

MIN_QUERY_LENGTH = 2
# A query is what a person types into a box, not a document: longer input is cut, so a
# pasted paragraph cannot become a forty-way AND of LIKE scans.
MAX_QUERY_LENGTH = 100
MAX_WORDS = 5
# Words shorter than this match the start of a field or of a word in it (see above);
# pg_trgm's trigrams are three characters, so this is the shortest fully indexed word.
SHORT_WORD_LENGTH = 3

# Relevance tiers, lowest first.
_EXACT, _PREFIX, _CONTAINS = 0, 1, 2


@dataclass(frozen=True)
class SearchResults:
    """What search_everything found, grouped by kind, each group at most `limit` rows."""

    query: str
    limit: int = 0
    too_short: bool = False
    deals: list[Deal] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    handoffs: list[Handoff] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.deals) + len(self.accounts) + len(self.contacts) + len(self.handoffs)

    @property
    def is_empty(self) -> bool:
        return self.count == 0

    @property
    def is_cut(self) -> bool:
        """Whether some kind may have more rows than shown (it filled its limit)."""
        groups = (self.deals, self.accounts, self.contacts, self.handoffs)
        return any(len(group) >= self.limit for group in groups) and not self.is_empty


def normalise_query(query: str | None) -> str:
    """The query as searched: surrounding and repeated spaces dropped, cut to its maximum."""
    return " ".join((query or "").split())[:MAX_QUERY_LENGTH].strip()


def _words(query: str) -> list[str]:
    return query.split()[:MAX_WORDS]


def _word_in(name: str, word: str) -> Q:
    """`word` a substring of the field `name`, or for a short word the start of it or of
    one of its words (see the module docstring)."""
    if len(word) >= SHORT_WORD_LENGTH:
        return Q(**{f"{name}__icontains": word})
    return Q(**{f"{name}__istartswith": word}) | Q(**{f"{name}__icontains": f" {word}"})


def _every_word_in(fields: tuple[str, ...], words: list[str]) -> Q:
    """Each word in at least one of `fields` (AND of ORs)."""
    return reduce(and_, (reduce(or_, (_word_in(name, word) for name in fields)) for word in words))


def _relevance(query: str, *fields: str) -> Case:
    """0 when a field equals the query, 1 when one starts with it, 2 otherwise."""

    def any_field(lookup: str) -> Q:
        return reduce(or_, (Q(**{f"{name}__{lookup}": query}) for name in fields))

    return Case(
        When(any_field("iexact"), then=Value(_EXACT)),
        When(any_field("istartswith"), then=Value(_PREFIX)),
        default=Value(_CONTAINS),
        output_field=IntegerField(),
    )


def _deals(user: User, query: str, words: list[str], limit: int) -> QuerySet[Deal]:
    fields = ("title",)
    ordering = ("relevance", "-updated_at", "-id")
    ranked = (
        deals_visible_to(user)
        .filter(_every_word_in(fields, words))
        .annotate(relevance=_relevance(query, *fields))
        .order_by(*ordering)
        .values("pk")[:limit]
    )
    return (
        Deal.objects.filter(pk__in=ranked)
        .select_related("account")
        .only("title", "stage", "updated_at", "account__name")
        .annotate(relevance=_relevance(query, *fields))
        .order_by(*ordering)
    )


def _accounts(visible: QuerySet[Account], query: str, words: list[str], limit: int) -> QuerySet[Account]:
    fields = ("name", "domain")
    return (
        visible.filter(_every_word_in(fields, words))
        .only("name", "domain")
        .annotate(relevance=_relevance(query, *fields))
        .order_by("relevance", "name", "id")[:limit]
    )


def _contact_relevance(query: str) -> Case:
    """_relevance for a contact: "Hana Ito" typed in full is an exact match of the name
    as shown (`full_name_text`, annotated beside it), not of one field."""
    return Case(
        When(Q(full_name_text__iexact=query) | Q(email__iexact=query), then=Value(_EXACT)),
        When(
            Q(full_name_text__istartswith=query) | Q(last_name__istartswith=query) | Q(email__istartswith=query),
            then=Value(_PREFIX),
        ),
        default=Value(_CONTAINS),
        output_field=IntegerField(),
    )


def _contacts(visible: QuerySet[Account], query: str, words: list[str], limit: int) -> QuerySet[Contact]:
    fields = ("first_name", "last_name", "email")
    ordering = ("relevance", "first_name", "last_name", "id")
    full_name = Concat("first_name", Value(" "), "last_name")
    ranked = (
        Contact.objects.filter(account__in=visible.values("pk"))
        .filter(_every_word_in(fields, words))
        .annotate(full_name_text=full_name, relevance=_contact_relevance(query))
        .order_by(*ordering)
        .values("pk")[:limit]
    )
    return (
        Contact.objects.filter(pk__in=ranked)
        .select_related("account")
        .only("first_name", "last_name", "email", "account__name")
        .annotate(full_name_text=Concat("first_name", Value(" "), "last_name"), relevance=_contact_relevance(query))
        .order_by(*ordering)
    )


def _handoff_deal_matches(word: str) -> Q:
    """A deal whose title or account's name holds `word` (a filter on Deal): a BitmapOr
    of the title's trigram index and the account index fed by the accounts whose name
    matches (InSubquery). An OR across the join (`title … OR account.name …`) could only
    be checked after joining the deals to their accounts."""
    named = Account.objects.filter(_word_in("name", word)).order_by().values("pk")
    return _word_in("title", word) | InSubquery("account_id", named)


def _deals_named(query: str, lookup: str) -> Q:
    """A filter on Handoff: its deal's title, or its account's name, is the query
    (`lookup` "iexact") or starts with it ("istartswith") — _relevance's test, asked of
    the deal id alone. Two uncorrelated subqueries that PostgreSQL runs once each and
    hashes: the titles through the prefix index on `UPPER(title)`, the accounts' deals
    through the one on `UPPER(name)` and the deals' (account, id) index (migration
    0016); a few rows for most words, 5,000 deals' ids for "Gring" (1,000 accounts)."""
    titled = Deal.objects.filter(**{f"title__{lookup}": query}).values("pk")
    of_named = Deal.objects.filter(**{f"account__name__{lookup}": query}).values("pk")
    return Q(deal_id__in=titled) | Q(deal_id__in=of_named)


def _handoff_relevance(query: str) -> Case:
    """_relevance over a hand-off's deal's title and account's name, asked of its deal id
    alone (_deals_named), so that ranking the matching hand-offs joins none of them to
    their deal and account (~6 index probes each); the rows kept are joined, and ranked
    again by the joined columns (the same tiers, asserted in the tests)."""
    return Case(
        When(_deals_named(query, "iexact"), then=Value(_EXACT)),
        When(_deals_named(query, "istartswith"), then=Value(_PREFIX)),
        default=Value(_CONTAINS),
        output_field=IntegerField(),
    )


def _handoffs(user: User, query: str, words: list[str], limit: int) -> QuerySet[Handoff]:
    ordering = ("relevance", "-closed_on", "-id")
    # The words go into the visibility rule itself (handoffs_visible_to's `of_deals`),
    # so the user's deals and the matching deals meet in the deal indexes (a BitmapAnd)
    # before any hand-off is read.
    of_deals = reduce(and_, (_handoff_deal_matches(word) for word in words))
    ranked = (
        handoffs_visible_to(user, of_deals=of_deals)
        .annotate(relevance=_handoff_relevance(query))
        .order_by(*ordering)
        .values("pk")[:limit]
    )
    return (
        Handoff.objects.filter(pk__in=ranked)
        .select_related("deal__account", "delivery_owner")
        .only(
            "status",
            "closed_on",
            "deal__title",
            "deal__account__name",
            "delivery_owner__username",
            "delivery_owner__first_name",
            "delivery_owner__last_name",
        )
        .annotate(relevance=_relevance(query, "deal__title", "deal__account__name"))
        .order_by(*ordering)
    )


def search_everything(*, user: User, query: str | None, limit_per_kind: int = 5) -> SearchResults:
    """The deals, accounts, contacts and hand-offs `user` may see that match `query`
    (see the module docstring), at most `limit_per_kind` of each, most relevant first."""
    query = normalise_query(query)
    if len(query) < MIN_QUERY_LENGTH:
        return SearchResults(query=query, limit=limit_per_kind, too_short=True)
    words = _words(query)
    visible_accounts = accounts_visible_to(user, deal_accounts_as_list=True)
    return SearchResults(
        query=query,
        limit=limit_per_kind,
        deals=list(_deals(user, query, words, limit_per_kind)),
        accounts=list(_accounts(visible_accounts, query, words, limit_per_kind)),
        contacts=list(_contacts(visible_accounts, query, words, limit_per_kind)),
        handoffs=list(_handoffs(user, query, words, limit_per_kind)),
    )
