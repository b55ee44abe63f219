"""Running a store program (store/programs.py) without a database.

`drive(program, answers)` runs the program, answers each statement it yields, and
returns what the program returned with every `Op` it asked for, in order. Answers are
either a list, consumed in order, or a function of the `Op` (`ByQuery` builds one from
answers keyed on the query name). It fails with what the program asked for when the
answers cover fewer statements than it asks for, or more.

`row(...)` makes a canned row that reads like sqlite3.Row and asyncpg.Record
(`row["col"]`) and refuses a column it was not given, naming those it has: a program
that reads a column its query does not return fails here as it would on a database.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from webhookd.store.programs import Op, Program

T = TypeVar("T")
Answer = Callable[[Op], Any]


class Row(Mapping[str, Any]):
    """One canned result row: indexable by column name, nothing more."""

    def __init__(self, columns: Mapping[str, Any]) -> None:
        self._columns = dict(columns)

    def __getitem__(self, column: str) -> Any:
        try:
            return self._columns[column]
        except KeyError:
            raise KeyError(
                f"the program read column {column!r}, which this row does not have "
                f"(it has {', '.join(self._columns)}): does the query return it?"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def __repr__(self) -> str:
        return f"row({self._columns!r})"


def row(**columns: Any) -> Row:
    return Row(columns)


def describe(op: Op) -> str:
    """An op as a failure message shows it: `query(params)`, long values cut."""
    params = repr(op.params)
    if len(params) > 200:
        params = params[:200] + "..."
    return f"{op.query} [{op.returning}] {params}"


class ByQuery:
    """Answers keyed on the query name: for each, a value (the answer to every call) or a
    function of the `Op`. A query it has no answer for fails the drive, naming the
    queries it has; `drive` also fails when a query given here was never asked for."""

    def __init__(self, **answers: Any) -> None:
        self.answers = answers
        self.asked: set[str] = set()

    def __call__(self, op: Op) -> Any:
        if op.query not in self.answers:
            raise AssertionError(
                f"the program asked for {describe(op)}, which these answers do not cover "
                f"(they answer {', '.join(sorted(self.answers)) or 'nothing'})"
            )
        self.asked.add(op.query)
        answer = self.answers[op.query]
        return answer(op) if callable(answer) else answer

    def never_asked(self) -> list[str]:
        return sorted(set(self.answers) - self.asked)


def drive(program: Program[T], answers: Sequence[Any] | Answer) -> tuple[T, list[Op]]:
    """Run `program` to its end, answering each statement; (its result, the ops it yielded).

    A list answers the statements in order; a function answers each from its `Op`.
    """
    ops: list[Op] = []
    answer = answers if callable(answers) else _in_order(answers, ops)
    try:
        op = next(program)
        while True:
            ops.append(op)
            op = program.send(answer(op))
    except StopIteration as done:
        result: T = done.value
    if not callable(answers) and len(ops) < len(answers):
        raise AssertionError(
            f"the program returned {result!r} after {len(ops)} statement(s), but "
            f"{len(answers)} answers were given: it never asked for the last "
            f"{len(answers) - len(ops)}.\nIt asked for:\n{_listing(ops)}"
        )
    if isinstance(answers, ByQuery) and answers.never_asked():
        raise AssertionError(
            f"the program returned {result!r} without asking for "
            f"{', '.join(answers.never_asked())}.\nIt asked for:\n{_listing(ops)}"
        )
    return result, ops


def _in_order(answers: Sequence[Any], ops: list[Op]) -> Answer:
    def answer(op: Op) -> Any:
        n = len(ops)  # `op` is already the last of them
        if n > len(answers):
            raise AssertionError(
                f"the program asked for statement {n}, {describe(op)}, but the answers "
                f"cover only {len(answers)}.\nIt asked for:\n{_listing(ops)}"
            )
        return answers[n - 1]

    return answer


def _listing(ops: Sequence[Op]) -> str:
    return "\n".join(f"  {n}. {describe(op)}" for n, op in enumerate(ops, 1)) or "  nothing"
