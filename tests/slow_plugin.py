"""A plugin that never finishes, named by dotted path in tests of max_processing_time."""

import time

from statscore.plugins.pq import StatsPQ


class SlowPQ(StatsPQ):
    # pq adds its days up as they load and then calls reduce_sums (reduce only on a stack)
    def reduce_sums(self, sums):
        time.sleep(600)
        return super().reduce_sums(sums)
