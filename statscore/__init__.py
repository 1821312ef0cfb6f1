"""statscore: statistical products from Earth observation data, compatible with odc-stats.

Layers, inner to outer: model and planning (pure), algorithms (``statscore.algo``),
adapters (datacube, files, S3/SQS/DynamoDB), entry points (``statscore.cli``).
"""

__version__ = "0.1.0"

from ._imports import defer_rfc3987_syntax as _defer

_defer()
