"""The public API is small, deliberate and sorted."""

import fbtime


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
