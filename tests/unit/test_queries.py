"""store/queries.py: every statement a program names exists in both dialects, once."""

import pytest

from webhookd.store import queries
from webhookd.store.queries import LOCKS, Q


def test_both_dialects_define_exactly_the_named_statements() -> None:
    assert set(queries.load("postgres")) == {q.value for q in Q}
    assert set(queries.load("sqlite")) == {q.value for q in Q} - {q.value for q in LOCKS}


def test_a_statement_missing_or_unnamed_is_refused() -> None:
    statements = dict(queries.load("postgres"))
    del statements[Q.DUE]
    with pytest.raises(RuntimeError, match=r"missing \['due'\]"):
        queries.check("postgres", statements)
    with pytest.raises(RuntimeError, match=r"not in Q \['notify'\]"):
        queries.check("postgres", {**queries.load("postgres"), "notify": "SELECT 1"})
