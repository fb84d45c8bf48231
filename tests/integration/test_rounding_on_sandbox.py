"""A plan built from a rounded frame applies cleanly and never writes a rounded duration."""

from __future__ import annotations

import fbtime


def test_marking_billed_from_a_rounded_frame_keeps_every_logged_duration(fresh_sandbox, tmp_path):
    sb = fresh_sandbox
    client = sb.client(cache=False)
    frame = fbtime.load_time_entries(client, team=True, progress=False)
    rounded = frame.fbtime.round_time("15min", how="up")
    unbilled = rounded.fbtime.unbilled()
    moved = unbilled.loc[unbilled["duration"] != unbilled["logged_duration"]].head(6)
    assert len(moved) == 6  # entries whose rounded time differs from the logged one
    before = sb.entries().set_index("id").loc[moved.index, "duration"]
    plan = moved.fbtime.mark_billed()
    result = plan.apply(client, confirm=6, journal=tmp_path, progress=False)
    assert result.counts["applied"] == 6 and result.ok  # no conflict over the duration
    after = sb.entries().set_index("id").loc[moved.index]
    assert after["duration"].tolist() == before.tolist() == moved["logged_duration"].tolist()
    assert after["billed"].astype(bool).all()
    assert sb.stats()["PUT time_entry"] == 6
