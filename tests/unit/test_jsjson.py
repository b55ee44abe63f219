"""`webhookd.domain.jsjson`: bytes that are a fixed point of JS parse + stringify.

The exact-output tables pin the tricky cases; the `node` tests check them and
hypothesis-generated values against node's own `JSON.stringify(JSON.parse(s))`.
"""

import base64
import json
import math
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from enum import IntEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import WAIT
from webhookd.domain.jsjson import MAX_DEPTH, NotRepresentable, dumps

# -- exact outputs -----------------------------------------------------------------

NUMBERS = [
    (0, "0"),
    (-0.0, "0"),
    (0.0, "0"),
    (1.0, "1"),
    (-1, "-1"),
    (1.5, "1.5"),
    (0.1, "0.1"),
    (0.1 + 0.2, "0.30000000000000004"),
    (100.5, "100.5"),
    (123.0, "123"),
    (1e20, "100000000000000000000"),
    (1e21, "1e+21"),
    (-1e21, "-1e+21"),
    (1.5e300, "1.5e+300"),
    (123e-20, "1.23e-18"),
    (1e-7, "1e-7"),
    (1.5e-7, "1.5e-7"),
    (0.000001, "0.000001"),
    (-0.000001, "-0.000001"),
    (0.0000012345, "0.0000012345"),
    (1e16, "10000000000000000"),
    (123456789012345680000.0, "123456789012345680000"),
    (5e-324, "5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
    (-1.7976931348623157e308, "-1.7976931348623157e+308"),
    (2**53, "9007199254740992"),
    (2**53 + 1, "9007199254740992"),
    (-(2**53) - 1, "-9007199254740992"),
    (2**53 + 3, "9007199254740996"),
    (12345678901234567890, "12345678901234567000"),
    (10**21, "1e+21"),
    (10**20, "100000000000000000000"),
    (2**64, "18446744073709552000"),
    (2**1024 - 2**970 - 1, "1.7976931348623157e+308"),  # rounds down to max double
    (float(2**53), "9007199254740992"),
    (True, "true"),
    (False, "false"),
    (None, "null"),
]

STRINGS = [
    ("", b'""'),
    ("plain", b'"plain"'),
    ('"', b'"\\""'),
    ("\\", b'"\\\\"'),
    ("/", b'"/"'),
    ("\b\f\n\r\t", b'"\\b\\f\\n\\r\\t"'),
    ("\x00\x01\x0b\x1f", b'"\\u0000\\u0001\\u000b\\u001f"'),
    ("\x7f", b'"\x7f"'),
    ("\u2028\u2029", '"\u2028\u2029"'.encode()),
    ("é中", '"é中"'.encode()),
    ("😀", '"😀"'.encode()),
    ("\ufeff\uffff", '"\ufeff\uffff"'.encode()),
    ("\ud800", b'"\\ud800"'),
    ("\udfff", b'"\\udfff"'),
    ("a\udc00b", b'"a\\udc00b"'),
    ("\udc00\ud800", b'"\\udc00\\ud800"'),  # low then high: two lone surrogates
    ("\ud83d\ude00", '"😀"'.encode()),  # a split pair is one astral char to JS
    ("\ud83d\ud83d\ude00", '"\\ud83d😀"'.encode()),
    ("\ud83d\ude00\ude00", '"😀\\ude00"'.encode()),
    ('\ud800"\udc00', b'"\\ud800\\"\\udc00"'),  # an escape between breaks the pair
]

KEY_ORDER_IN = {
    "b": 1,
    "10": 2,
    "a": 3,
    "2": 4,
    "01": 5,
    "4294967295": 6,
    "4294967294": 7,
}
KEY_ORDER_OUT = b'{"2":4,"10":2,"4294967294":7,"b":1,"a":3,"01":5,"4294967295":6}'


class Colour(IntEnum):
    RED = 1


COMPOSITES: list[tuple[object, bytes]] = [
    ([], b"[]"),
    ({}, b"{}"),
    ((1, "a", None), b'[1,"a",null]'),
    ([[], {}, [{}]], b"[[],{},[{}]]"),
    ({"a": [1, 2.5, {"b": None}], "c": True}, b'{"a":[1,2.5,{"b":null}],"c":true}'),
    (KEY_ORDER_IN, KEY_ORDER_OUT),
    (
        {"": 1, "0": 2, "-1": 3, "1.0": 4, "00": 5, "7": 6},
        b'{"0":2,"7":6,"":1,"-1":3,"1.0":4,"00":5}',
    ),
    ({"\u0661": 1, "1": 2}, '{"1":2,"\u0661":1}'.encode()),  # Arabic-Indic digit: a name
    ({"a\nb": "\ud800"}, b'{"a\\nb":"\\ud800"}'),
    ({"x": Colour.RED, "flag": [True, False]}, b'{"x":1,"flag":[true,false]}'),
]

CASES = [(value, text.encode()) for value, text in NUMBERS] + STRINGS + COMPOSITES


def _short_id(value: object) -> str | None:
    if isinstance(value, int) and value.bit_length() > 100:
        return f"int{value.bit_length()}bits"
    return None


@pytest.mark.parametrize(("value", "expected"), CASES, ids=_short_id)
def test_exact_output(value: object, expected: bytes) -> None:
    assert dumps(value) == expected


def _nested(depth: int) -> object:
    value: object = []
    for i in range(depth - 1):
        value = [value] if i % 2 else {"k": value}
    return value


@pytest.mark.parametrize(
    ("value", "path", "fragment"),
    [
        (math.nan, "(value)", "NaN"),
        (math.inf, "(value)", "Infinity"),
        (-math.inf, "(value)", "-Infinity"),
        (10**400, "(value)", "overflows a double"),
        (-(10**400), "(value)", "overflows a double"),
        (2**1024 - 2**970, "(value)", "overflows a double"),  # JS rounds this to Infinity
        (10**5000, "(value)", "overflows a double"),
        ({"data": {"items": [0, 1, 2, math.nan]}}, "data.items[3]", "NaN"),
        ({"a b": [{"x": object()}]}, '["a b"][0].x', "object is not a JSON type"),
        ({1: "x"}, "(value)", "not a string"),
        ({"ok": {None: 1}}, "ok", "not a string"),
        ([b"bytes"], "[0]", "bytes is not a JSON type"),
        ({"s": {1, 2}}, "s", "set is not a JSON type"),
        ({"\ud83d\ude00": 1, "😀": 2}, "(value)", "duplicate key"),
    ],
    ids=_short_id,
)
def test_not_representable(value: object, path: str, fragment: str) -> None:
    with pytest.raises(NotRepresentable) as info:
        dumps(value)
    assert info.value.path.startswith(path)
    assert fragment in info.value.reason
    assert str(info.value).startswith(f"{path}: ")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 10_000, 100_000])
def test_deep_nesting_is_refused_not_recursion_error(depth: int) -> None:
    with pytest.raises(NotRepresentable, match="nested deeper"):
        dumps(_nested(depth))


def test_recursion_limit_inside_dumps_is_reported_as_not_representable() -> None:
    value = _nested(MAX_DEPTH)

    def call_deep(levels: int) -> bytes:
        return call_deep(levels - 1) if levels else dumps(value)

    with pytest.raises(NotRepresentable, match="nested too deeply"):
        call_deep(sys.getrecursionlimit() - 150)


def test_max_depth_is_accepted() -> None:
    assert dumps([[[]]]) == b"[[[]]]"
    assert dumps(_nested(MAX_DEPTH)).count(b"[") == MAX_DEPTH // 2


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_keep_their_value(number: float) -> None:
    assert float(json.loads(dumps(number))) == number


@given(st.integers(min_value=-(2**1023), max_value=2**1023))
def test_ints_become_the_nearest_double(number: int) -> None:
    assert float(json.loads(dumps(number))) == float(number)


# -- node as the oracle --------------------------------------------------------

NODE_SCRIPT = r"""
const rl = require('readline').createInterface({ input: process.stdin, terminal: false });
rl.on('line', (line) => {
  let reply;
  try {
    const text = Buffer.from(line, 'base64').toString('utf8');
    const again = JSON.stringify(JSON.parse(text));
    reply = 'ok ' + Buffer.from(again, 'utf8').toString('base64');
  } catch (e) {
    reply = 'err ' + Buffer.from(String(e), 'utf8').toString('base64');
  }
  process.stdout.write(reply + '\n');
});
"""


class NodeOracle:
    """One long-lived node process: bytes in, JSON.stringify(JSON.parse(bytes)) out."""

    def __init__(self, process: "subprocess.Popen[bytes]") -> None:
        self._process = process

    def restringify(self, data: bytes) -> bytes:
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write(base64.b64encode(data) + b"\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            pytest.fail(f"node exited unexpectedly (code {self._process.poll()})")
        status, _, payload = line.rstrip(b"\n").partition(b" ")
        decoded = base64.b64decode(payload)
        if status != b"ok":
            pytest.fail(f"node rejected {data!r}: {decoded.decode()}")
        return decoded


@pytest.fixture(scope="module")
def node() -> Iterator[NodeOracle]:
    executable = shutil.which("node")
    if executable is None:
        pytest.fail(
            "`node` is not on PATH; these tests need it as the JSON.stringify oracle "
            "(install Node.js, it is expected on every machine)",
            pytrace=False,
        )
    with subprocess.Popen(
        [executable, "-e", NODE_SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as process:
        yield NodeOracle(process)
        assert process.stdin is not None
        process.stdin.close()
        assert process.wait(timeout=WAIT) == 0


@pytest.mark.node
def test_exact_outputs_are_node_fixed_points(node: NodeOracle) -> None:
    for _, expected in CASES:
        assert node.restringify(expected) == expected


@pytest.mark.node
def test_node_agrees_on_refused_numbers(node: NodeOracle) -> None:
    # What JSON.parse does with what we refuse: it would not come back the same.
    assert node.restringify(str(10**400).encode()) == b"null"
    assert node.restringify(str(2**1024 - 2**970).encode()) == b"null"
    assert node.restringify(b'{"\\ud83d\\ude00":1,"\xf0\x9f\x98\x80":2}') == '{"😀":2}'.encode()


SPECIAL_TEXT = st.sampled_from(
    [
        '"',
        "\\",
        "/",
        "\b\f\n\r\t",
        "\x00",
        "\x1f",
        "\x7f",
        "\u2028",
        "\u2029",
        "\ud800",
        "\udbff",
        "\udc00",
        "\udfff",
        "\ud83d\ude00",
        "😀",
        "\U0010ffff",
        "é",
        "\ufeff",
        "\uffff",
    ]
)
TEXT = st.lists(st.text(st.characters(codec=None), max_size=6) | SPECIAL_TEXT, max_size=4).map(
    "".join
)
KEYS = (
    TEXT
    | st.sampled_from(
        [
            "0",
            "01",
            "00",
            "1",
            "2",
            "10",
            "-0",
            "-1",
            "1.0",
            "1e3",
            " 1",
            "4294967294",
            "4294967295",
            "4294967296",
            "9007199254740993",
            "",
            "__proto__",
            "constructor",
            "length",
        ]
    )
    | st.integers(min_value=0, max_value=2**33).map(str)
)
INTS = (
    st.integers(min_value=-(2**60), max_value=2**60)
    | st.integers(min_value=-(2**1023), max_value=2**1023)
    | st.sampled_from([2**53 + 1, -(2**53) - 1, 10**21, 2**1024 - 2**970 - 1])
)
SCALARS = (
    st.none()
    | st.booleans()
    | INTS
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=1e-8, max_value=1e22)
    | TEXT
)


def _distinct_in_js(obj: Mapping[str, object]) -> bool:
    """No '\\ud83d\\ude00' next to '😀': one key to JS, so dumps refuses it (tested above)."""
    joined = {
        key.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass") for key in obj
    }
    return len(joined) == len(obj)


VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=5)
        | st.tuples(children, children)
        | st.dictionaries(KEYS, children, max_size=6).filter(_distinct_in_js)
    ),
    max_leaves=30,
)


@pytest.mark.node
@pytest.mark.slow  # 300 examples, each a round trip through node
@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_output_is_a_fixed_point_of_node_parse_stringify(node: NodeOracle, value: object) -> None:
    data = dumps(value)
    assert node.restringify(data) == data
