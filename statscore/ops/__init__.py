"""Operating a run: predict it, guard it, watch it, account for it.

- :mod:`~statscore.ops.preflight`: fail before spending (config, output location, cache);
- :mod:`~statscore.ops.estimate`: tiles, datasets, pixel-observations, seconds, worker-hours, cost;
- :mod:`~statscore.ops.runtime`: the per-plugin runtime model and its calibration fit;
- :mod:`~statscore.ops.calibrate`: timing real tasks for that model;
- :mod:`~statscore.ops.prices`: what a worker-hour costs;
- :mod:`~statscore.ops.usage`: what tasks used (CPU, wall, memory, bytes, observations), a
  run's totals, CloudWatch metrics in Embedded Metric Format;
- :mod:`~statscore.ops.status`: a run's live status from its rows, queue, jobs and execution
  (pure), read from AWS by :mod:`~statscore.ops.aws_status`.

Modules are imported by their users, not here: the worker's child imports only ``usage``.
"""
