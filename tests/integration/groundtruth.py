"""Ground truth from the sandbox's own rows, typed independently of fbtime's loader."""

import pandas as pd


def truth(sb) -> pd.DataFrame:
    """Ground truth from the sandbox's own rows, typed independently of fbtime's loader."""
    raw = sb.entries().copy()
    raw["started_at"] = pd.to_datetime(raw["started_at"], utc=True)
    raw["updated_at"] = pd.to_datetime(raw["updated_at"], utc=True)
    return raw.set_index("id")
