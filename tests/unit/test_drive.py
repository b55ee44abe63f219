"""tests/programs.py: `drive` runs a store program on canned answers, and says clearly
when they do not fit what the program asks for."""

import pytest

from tests.programs import ByQuery, drive, row
from webhookd.store import programs
from webhookd.store.programs import Op, Program
from webhookd.store.queries import Q


def two_reads() -> Program[int]:
    first = yield Op(Q.COUNT_WEBHOOKS, {"tenant": "a"}, "one")
    second = yield Op(Q.COUNT_WEBHOOKS, {"tenant": "b"}, "one")
    total: int = first["n"] + second["n"]
    return total


def test_a_list_answers_the_statements_in_order() -> None:
    total, ops = drive(two_reads(), [row(n=2), row(n=3)])
    assert total == 5
    assert [op.params for op in ops] == [{"tenant": "a"}, {"tenant": "b"}]


def test_a_function_answers_each_statement_from_its_op() -> None:
    total, _ = drive(two_reads(), lambda op: row(n=len(op.query)))
    assert total == 2 * len("count_webhooks")


def test_too_few_answers_fail_naming_the_statement_left_unanswered() -> None:
    with pytest.raises(AssertionError, match=r"statement 2, count_webhooks .*cover only 1"):
        drive(two_reads(), [row(n=2)])


def test_answers_left_over_fail_naming_what_was_asked() -> None:
    with pytest.raises(
        AssertionError, match=r"never asked for the last 1\.\n.*\n  1\. count_webhooks"
    ):
        drive(two_reads(), [row(n=2), row(n=3), row(n=4)])


def test_answers_by_query_fail_on_a_query_they_do_not_cover_and_one_never_asked() -> None:
    with pytest.raises(AssertionError, match=r"do not cover .*they answer lock_key"):
        drive(two_reads(), ByQuery(lock_key=None))
    with pytest.raises(AssertionError, match="without asking for lock_key"):
        drive(two_reads(), ByQuery(count_webhooks=row(n=1), lock_key=None))


def test_a_row_refuses_a_column_its_query_does_not_return() -> None:
    with pytest.raises(KeyError, match=r"column 'n'.*it has count"):
        drive(two_reads(), [row(count=2), row(count=3)])


def test_a_real_program_runs_on_canned_rows() -> None:
    found, ops = drive(programs.delete_webhook("a", "wh_1"), ByQuery(delete_webhook=1))
    assert found is True
    assert [(op.query, op.params, op.returning) for op in ops] == [
        ("delete_webhook", {"tenant": "a", "id": "wh_1"}, "count")
    ]
