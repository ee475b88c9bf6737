"""A small rate limiter on the Django cache, whose counters every web process shares
(Redis when REDIS_URL is set, files under ./var otherwise).

A `RateLimit` allows `limit` hits per key in each fixed window of `window_seconds`; a hit
counts against every key it names (the client's address and the e-mail it typed, say),
and is allowed only if none of them is over. Fixed windows are the cheapest honest
limit — one atomic increment per key — at the price of allowing up to twice the limit
across a window's edge, which is fine for slowing a flood down.

Keys are hashed: an e-mail address typed into a public form is not written in clear
into the cache. `throttles_reset` forgets every counter at once (a generation number
in each key; the old counters expire on their own), without clearing the cache, which
on Redis would flush the whole database, Celery's queues included.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

GENERATION_KEY = "throttle:generation"


def throttles_reset() -> None:
    """Forget every rate limit's counters (tests; an operator lifting a flood's limits)."""
    cache.add(GENERATION_KEY, 0, timeout=None)
    cache.incr(GENERATION_KEY)


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` hits per key in each window of `window_seconds`."""

    name: str
    limit: int
    window_seconds: int

    def hit(self, *keys: str) -> bool:
        """Count one hit against each key; True while every key is within the limit.

        A refused hit still counts, so that hammering a limited key keeps it limited
        until its window ends rather than sliding back under."""
        window = int(timezone.now().timestamp()) // self.window_seconds
        generation = cache.get(GENERATION_KEY, 0)
        allowed = True
        for key in keys:
            if self._increment(self._cache_key(key, window, generation)) > self.limit:
                allowed = False
        return allowed

    def _cache_key(self, key: str, window: int, generation: int) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return f"throttle:{generation}:{self.name}:{digest}:{window}"

    def _increment(self, cache_key: str) -> int:
        # add() creates the counter only if it is missing, so two processes racing on a
        # new window do not reset each other; incr() is atomic on Redis. The counter
        # outlives its window a little, so that a clock skew between processes cannot
        # find it already gone.
        cache.add(cache_key, 0, timeout=self.window_seconds + 60)
        try:
            return cache.incr(cache_key)
        except ValueError:
            # Evicted (or expired) between add() and incr(): start it again.
            cache.add(cache_key, 1, timeout=self.window_seconds + 60)
            return 1


def password_reset_limit() -> RateLimit:
    """BATON_PASSWORD_RESET_LIMIT reset requests per BATON_PASSWORD_RESET_WINDOW_MINUTES,
    per client address and per e-mail address (read at each call, so tests may override)."""
    return RateLimit(
        name="password-reset",
        limit=settings.BATON_PASSWORD_RESET_LIMIT,
        window_seconds=settings.BATON_PASSWORD_RESET_WINDOW_MINUTES * 60,
    )
