"""Built once per process: a thread-safe memo for the classifiers' tables.

``functools.cache`` lets several threads that miss at the same moment each build the
value (each parse thread compiled all 31 lexicons again, seconds of CPU, issue 12).
``once`` builds each value at most once: a hit is one dict lookup without a lock; a miss
takes one process-wide re-entrant lock (a table may be built from other tables, e.g. the
unsubscribe words from every lexicon), checks again, and builds.

``parsers.classify.warm_up()`` fills every table before a process serves.
This module holds no state besides the memos it makes.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable
from typing import Generic, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_LOCK = threading.RLock()  # one lock: tables built from tables cannot deadlock


class Once(Generic[P, R]):
    """``fn`` memoised per positional arguments, each value built at most once."""

    def __init__(self, fn: Callable[P, R]) -> None:
        self._fn = fn
        self._values: dict[tuple[Hashable, ...], R] = {}
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        key: tuple[Hashable, ...] = (*args, *sorted(kwargs.items()))
        try:
            return self._values[key]
        except KeyError:
            pass
        with _LOCK:
            if key not in self._values:
                self._values[key] = self._fn(*args, **kwargs)
            return self._values[key]

    def built(self) -> int:
        """How many values have been built (tests check that warm-up filled the table)."""
        return len(self._values)

    def cache_clear(self) -> None:
        """Forget every value (benchmarks time a cold build)."""
        with _LOCK:
            self._values.clear()


def once(fn: Callable[P, R]) -> Once[P, R]:
    """Decorator: see ``Once``."""
    return Once(fn)
