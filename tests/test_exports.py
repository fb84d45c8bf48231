"""The public API is small, deliberate and sorted."""

import inspect

import fbtime
import fbtime.export


def test_all_is_sorted_and_importable():
    assert fbtime.__all__ == sorted(fbtime.__all__)
    for name in fbtime.__all__:
        assert hasattr(fbtime, name), name


def test_every_error_is_an_fbtime_error():
    errors = [getattr(fbtime, n) for n in fbtime.__all__ if n.endswith("Error")]
    assert len(errors) >= 10
    for error in errors:
        assert issubclass(error, fbtime.FBTimeError)


def test_importing_registers_the_accessor():
    import pandas as pd

    assert "fbtime" in pd.DataFrame._accessors


def test_file_writers_take_raw_only_by_keyword():
    assert fbtime.export.__all__ == sorted(fbtime.export.__all__)
    for name in fbtime.export.__all__:
        assert hasattr(fbtime.export, name), name
    for writer in ("to_csv", "to_excel", "write_table"):
        raw = inspect.signature(getattr(fbtime.export, writer)).parameters["raw"]
        assert raw.kind is inspect.Parameter.KEYWORD_ONLY and raw.default is False, writer
