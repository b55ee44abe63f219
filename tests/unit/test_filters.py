"""domain/filters.py: the payload filter language, its checks and its laws."""

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webhookd.domain import filters
from webhookd.domain.filters import FilterError

ORDER = {
    "status": "failed",
    "amount": 250,
    "currency": "EUR",
    "retryable": False,
    "customer": {"tier": "gold", "id": "c_1"},
    "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}],
    "note": None,
}


def ok(document: Any, data: Any = ORDER) -> bool:
    return filters.matches(filters.check(document), data)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({}, True),
        ({"status": "failed"}, True),
        ({"status": "delivered"}, False),
        ({"amount": 250.0}, True),  # JSON equality: 250 == 250.0
        ({"retryable": 0}, False),  # ... but false is not 0
        ({"note": None}, True),
        ({"missing": None}, False),  # absent is not null
        ({"customer.tier": "gold"}, True),
        ({"customer": {"tier": "gold", "id": "c_1"}}, True),  # a whole object
        ({"customer": {"tier": "gold"}}, False),
        ({"items.1.sku": "B-2"}, True),
        ({"items.2.sku": "B-2"}, False),
        ({"items.x": 1}, False),
        ({"amount": {"$gte": 250, "$lt": 1000}}, True),
        ({"amount": {"$gt": 250}}, False),
        ({"amount": {"$lte": 250}}, True),
        ({"amount": {"$lt": "300"}}, False),  # a number never compares with a string
        ({"currency": {"$gt": "EUA"}}, True),
        ({"currency": {"$in": ["USD", "EUR"]}}, True),
        ({"currency": {"$nin": ["USD", "EUR"]}}, False),
        ({"missing": {"$nin": [1]}}, True),
        ({"missing": {"$ne": 1}}, True),
        ({"status": {"$ne": "failed"}}, False),
        ({"note": {"$exists": True}}, True),
        ({"missing": {"$exists": False}}, True),
        ({"amount": {"$not": {"$gt": 1000}}}, True),
        ({"$or": [{"status": "delivered"}, {"amount": {"$gt": 100}}]}, True),
        ({"$and": [{"status": "failed"}, {"currency": "USD"}]}, False),
        ({"$not": {"status": "failed"}}, False),
        ({"status": "failed", "currency": "USD"}, False),  # every key must hold
    ],
)
def test_a_filter_matches_what_it_says(document: dict[str, Any], expected: bool) -> None:
    assert ok(document) is expected


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [
        ([], "filter", "must be an object, not an array"),
        ({"amount": {"$gt": True}}, "filter.amount.$gt", "number or a string, not true"),
        ({"amount": {"$gt": [1]}}, "filter.amount.$gt", "not an array"),
        ({"amount": {"$in": 3}}, "filter.amount.$in", "must be an array"),
        ({"amount": {"$exists": 1}}, "filter.amount.$exists", "true or false"),
        ({"amount": {"$regex": "x"}}, "filter.amount.$regex", "unknown operator"),
        ({"amount": {"$gt": 1, "cents": 2}}, "filter.amount", "mixes operators"),
        ({"$or": []}, "filter.$or", "non-empty array"),
        ({"$or": [{"a": 1}, 5]}, "filter.$or[1]", "must be an object"),
        ({"$and": {"a": 1}}, "filter.$and", "non-empty array"),
        ({"$nor": [{"a": 1}]}, "filter.$nor", "unknown operator"),
        ({"$or": [{"a": {"$in": [1, {"$gt": 2}]}}]}, "filter.$or[0].a.$in[1].$gt", "inside"),
        ({"a..b": 1}, "filter.a..b", "field path"),
        ({".a": 1}, "filter..a", "field path"),
        ({"x" * 256: 1}, "filter." + "x" * 256, "field path"),
        ({"$not": 1}, "filter.$not", "must be an object"),
    ],
)
def test_a_bad_filter_names_the_path_of_what_is_wrong(
    document: Any, path: str, message: str
) -> None:
    with pytest.raises(FilterError) as refused:
        filters.check(document)
    assert refused.value.path == path
    assert str(refused.value).startswith(f"{path}: ")
    assert message in str(refused.value)


def test_nesting_and_size_are_bounded() -> None:
    deep: dict[str, Any] = {"a": 1}
    for _ in range(filters.MAX_DEPTH + 1):
        deep = {"$not": deep}
    with pytest.raises(FilterError, match="deep"):
        filters.check(deep)
    with pytest.raises(FilterError, match="bytes"):
        filters.check({"a": {"$in": ["x" * 100] * 50}})


def test_empty_filter_is_stored_as_none_and_matches_everything() -> None:
    assert filters.check({}) is None
    assert filters.matches(None, 42)


# -- laws, over generated data and filters ---------------------------------------------

SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from([0.5, 1.0, -2.0])
SCALARS = SCALARS | st.sampled_from(["a", "b", "", "gold"])
KEYS = st.sampled_from(["a", "b", "c"])
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)
DATA = st.dictionaries(KEYS, VALUES, max_size=3)
PATHS = st.sampled_from(["a", "b", "a.b", "a.0", "c.a.b"])


@st.composite
def conditions(draw: st.DrawFn) -> Any:
    op = draw(st.sampled_from([*filters.FIELD_OPERATORS, "plain"]))
    if op == "plain":
        return draw(VALUES.filter(lambda v: not isinstance(v, dict)))
    if op in ("$in", "$nin"):
        return {op: draw(st.lists(VALUES, max_size=3))}
    if op in ("$gt", "$gte", "$lt", "$lte"):
        return {op: draw(st.integers(-5, 5) | st.sampled_from(["a", "b"]))}
    if op == "$exists":
        return {op: draw(st.booleans())}
    if op == "$not":
        return {op: {"$eq": draw(VALUES)}}
    return {op: draw(VALUES)}


FILTERS = st.recursive(
    st.dictionaries(PATHS, conditions(), max_size=2),
    lambda inner: (
        st.builds(lambda fs: {"$and": fs}, st.lists(inner, min_size=1, max_size=3))
        | st.builds(lambda fs: {"$or": fs}, st.lists(inner, min_size=1, max_size=3))
        | st.builds(lambda f: {"$not": f}, inner)
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(FILTERS, FILTERS, DATA)
def test_the_combinators_are_boolean_logic(f: Any, g: Any, data: Any) -> None:
    a, b = ok(f, data), ok(g, data)
    assert ok({"$not": f}, data) is (not a)
    assert ok({"$and": [f, g]}, data) is (a and b)
    assert ok({"$or": [f, g]}, data) is (a or b)


@settings(max_examples=300, deadline=None)
@given(PATHS, VALUES, st.lists(VALUES, max_size=3), DATA)
def test_ne_and_nin_are_the_negations_of_eq_and_in(
    path: str, value: Any, values: list[Any], data: Any
) -> None:
    assert ok({path: {"$ne": value}}, data) is not ok({path: {"$eq": value}}, data)
    assert ok({path: {"$nin": values}}, data) is not ok({path: {"$in": values}}, data)
    assert ok({path: {"$in": values}}, data) is any(ok({path: {"$eq": v}}, data) for v in values)


@settings(max_examples=300, deadline=None)
@given(VALUES.filter(lambda v: not isinstance(v, dict)), DATA)
def test_a_plain_value_is_eq_and_matches_itself(value: Any, data: Any) -> None:
    assert ok({"b": value}, {**data, "b": value})
    assert ok({"b": value}, data) is ok({"b": {"$eq": value}}, data)


@settings(max_examples=300, deadline=None)
@given(st.integers(-10, 10) | st.floats(-10, 10), st.integers(-5, 5))
def test_orderings_compare_numbers(value: float, bound: int) -> None:
    data = {"n": value}
    assert ok({"n": {"$gt": bound}}, data) is (value > bound)
    assert ok({"n": {"$gte": bound}}, data) is (value >= bound)
    assert ok({"n": {"$lt": bound}}, data) is (value < bound)
    assert ok({"n": {"$lte": bound}}, data) is (value <= bound)


@settings(max_examples=200, deadline=None)
@given(VALUES, VALUES, VALUES)
def test_dots_reach_into_nested_objects(x: Any, y: Any, z: Any) -> None:
    data = {"a": {"b": x}, "c": [y, {"d": z}]}
    assert ok({"a.b": {"$exists": True}}, data)
    assert ok({"a.b": {"$eq": x}}, data)
    assert ok({"c.0": {"$in": [y]}}, data)
    assert ok({"c.1.d": {"$eq": z}}, data)
    assert not ok({"c.2": {"$exists": True}}, data)


@settings(max_examples=300, deadline=None)
@given(FILTERS, DATA)
def test_the_stored_text_means_what_was_checked(f: Any, data: Any) -> None:
    text = filters.check(f)
    assert filters.matches(text, data) is filters.compile_filter(f)(data)
    if text is not None:
        assert orjson.loads(text) == f


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "$or", "$and", "$not", "$gt", "$in", "x.y"]), inner)
    ),
    max_leaves=10,
)


@settings(max_examples=500, deadline=None)
@given(JSON, DATA)
def test_any_json_is_either_a_filter_or_a_filter_error(document: Any, data: Any) -> None:
    try:
        text = filters.check(document)
    except FilterError as refused:
        path = refused.path
    else:
        path = "filter"
        assert isinstance(filters.matches(text, data), bool)
    assert path.startswith("filter")
