"""The compact TOML writer parses back to exactly what it was given."""

from __future__ import annotations

import math
import tomllib

from hypothesis import given
from hypothesis import strategies as st

from pose3d.io.toml_format import dumps, format_value

keys = st.text(min_size=1, max_size=8)
scalars = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
)
arrays = st.recursive(st.lists(scalars, max_size=4), lambda inner: st.lists(inner, max_size=3))
values = scalars | arrays | st.dictionaries(keys, scalars, max_size=3)
tables = st.recursive(
    st.dictionaries(keys, values, max_size=5),
    lambda inner: st.dictionaries(
        keys, inner | st.lists(inner, min_size=1, max_size=2), max_size=3
    ),
    max_leaves=12,
)


@given(tables)
def test_round_trip(data: dict) -> None:
    assert tomllib.loads(dumps(data)) == data


def test_arrays_stay_on_one_line() -> None:
    text = dumps({"matrix": [[800.0, 0.0, 320.5], [0.0, 801.0, 240.0], [0.0, 0.0, 1.0]]})
    assert text == "matrix = [[800.0, 0.0, 320.5], [0.0, 801.0, 240.0], [0.0, 0.0, 1.0]]\n"


def test_tables_and_lists_of_tables() -> None:
    text = dumps({"name": "s", "cameras": [{"name": "a", "offset": -3}], "board": {"unit": "mm"}})
    assert text == ('name = "s"\n\n[[cameras]]\nname = "a"\noffset = -3\n\n[board]\nunit = "mm"\n')


def test_non_finite_floats() -> None:
    parsed = tomllib.loads(dumps({"a": [math.nan, math.inf, -math.inf]}))["a"]
    assert math.isnan(parsed[0]) and parsed[1:] == [math.inf, -math.inf]
    assert format_value(1e-300) == "1e-300"
