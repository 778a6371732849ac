"""The worker's event loop for ``async def`` handlers: one daemon thread running one loop,
on which every async attempt is a task. Many run at once (within the worker's slots) on
that single thread; a task is cancelled when its attempt times out or is no longer wanted.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any


def is_async(handler: Any) -> bool:
    """True for an ``async def`` function (also behind ``functools.partial``)."""
    return inspect.iscoroutinefunction(handler)


class EventLoopThread:
    """A private event loop on a daemon thread (it never keeps the process alive)."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="ledgerflow-async",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
            # tasks cancelled by ``close`` get to run their ``finally`` blocks
            pending = asyncio.all_tasks(self._loop)
            if pending:
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        finally:
            self._loop.close()

    def submit(self, coroutine: Coroutine[Any, Any, None]) -> Future[None]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def cancel(self, task: Future[None]) -> None:
        """Cancel the task (it sees ``CancelledError`` at its next ``await``)."""
        task.cancel()

    def close(self) -> None:
        """Cancel what still runs and stop the loop; tasks that ignore cancellation are
        dropped with the loop."""
        def stop() -> None:
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.call_soon(self._loop.stop)

        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(stop)
