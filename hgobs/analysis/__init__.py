"""Analysis: classify records offline and aggregate them with pandas (pure functions).

Needs the ``analyze`` extra; without it, importing this package raises ``MissingExtraError``
(an ``ImportError``) that says so.
"""

from hgobs.extras import require

require(("analyze",), "hgobs.analysis")
