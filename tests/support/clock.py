"""The frozen clock tests start from: a Tuesday, 10:30 in New York, when US stock and CME futures sessions are
open."""
from datetime import datetime, timezone

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=timezone.utc)
