"""A plugin that never finishes, named by dotted path in tests of max_processing_time."""

import time

from statscore.plugins.pq import StatsPQ


class SlowPQ(StatsPQ):
    def reduce(self, xx):
        time.sleep(600)
        return super().reduce(xx)
