"""Rate limits on authentication: per client address before the token is read, per user after.

Both websocket connection attempts and REST requests that carry a token go through a
`RateLimitedAuthenticator` (one per surface, so a burst of API calls does not lock a user out of
their documents). The buckets live in this process: behind a load balancer each instance limits
what reaches it, which bounds the total at instances x limit. Maps are bounded: past `max_keys`
the least recently seen key is forgotten (its bucket refills, which only favours that key).
"""

from __future__ import annotations

from collections import OrderedDict

from server.auth import Authenticator, Handshake, Principal, RateLimited
from server.limits import TokenBucket


class KeyedLimiter:
    """A token bucket per key; `rate` 0 turns the limit off."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 10_000) -> None:
        self._rate = rate
        self._burst = max(burst, 1)
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self._rate > 0

    def __len__(self) -> int:
        return len(self._buckets)

    def allow(self, key: str) -> bool:
        if not self.enabled:
            return True
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self._rate, self._burst)
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket.take()


class RateLimitedAuthenticator:
    """Refuses with 4429 (HTTP 429) an address or a user going faster than its limit."""

    def __init__(
        self, inner: Authenticator, per_address: KeyedLimiter, per_user: KeyedLimiter
    ) -> None:
        self.inner = inner
        self._per_address = per_address
        self._per_user = per_user

    async def authenticate(self, handshake: Handshake) -> Principal:
        address = handshake.client_host
        if address is not None and not self._per_address.allow(address):
            raise RateLimited()
        principal = await self.inner.authenticate(handshake)
        if not self._per_user.allow(principal.user_id):
            raise RateLimited()
        return principal
