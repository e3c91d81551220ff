"""Automatic versions: one after a quiet spell, never two closer than the interval."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class AutoVersioner:
    """Call `touch()` after each commit; `save` runs once the document has been quiet."""

    def __init__(
        self,
        *,
        quiet_seconds: float,
        interval_seconds: float,
        save: Callable[[], Awaitable[None]],
        spawn: Callable[[Awaitable[None]], object],
    ) -> None:
        self._quiet = quiet_seconds
        self._interval = interval_seconds
        self._save = save
        self._spawn = spawn
        self._timer: asyncio.TimerHandle | None = None
        self._last_saved = -float("inf")
        self._last_touch = 0.0
        self.dirty = False

    @property
    def enabled(self) -> bool:
        return self._quiet > 0

    def touch(self) -> None:
        # Called on every commit: only note the time; the one armed timer looks at it.
        if not self.enabled:
            return
        self.dirty = True
        self._last_touch = time.monotonic()
        if self._timer is None:
            self._arm(self._quiet)

    def _arm(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        if not self.dirty:
            return
        now = time.monotonic()
        still_busy = self._last_touch + self._quiet - now
        if still_busy > 0:
            self._arm(still_busy)
            return
        wait = self._last_saved + self._interval - now
        if wait > 0:
            self._arm(wait)
            return
        self._spawn(self.save_now())

    async def save_now(self) -> None:
        """Save if anything changed since the last version (the room calls it on unload)."""
        if not self.dirty:
            return
        self.dirty = False
        self._last_saved = time.monotonic()
        await self._save()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
