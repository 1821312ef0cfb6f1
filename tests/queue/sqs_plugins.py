"""A test-only plugin for the queue tests, loaded by dotted path in worker processes
(``PYTHONPATH`` includes this folder): pq that sleeps ``delay`` seconds before its counts are reduced,
so a task outlives a short lease or can be killed mid-way."""

from __future__ import annotations

import time
from typing import Any

from statscore.plugins.pq import StatsPQ


class SlowPQ(StatsPQ):
    NAME = "slow_pq"
    SHORT_NAME = NAME

    def __init__(self, *, delay: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delay = float(delay)
        self._slept = False

    # pq adds its days up as they load, then calls reduce_sums (reduce only on a stack)
    def reduce_sums(self, sums):
        if not self._slept:  # once per task, whatever the number of blocks
            self._slept = True
            time.sleep(self.delay)
        return super().reduce_sums(sums)
