"""The claim and the settle (store/programs.py) driven with canned rows, no database.

Each canned row has the columns its query returns in store/sql/*/queries.sql. These
pin the rules tests/store/test_contract.py checks on real databases: the lanes and the
fair pick of a claim, half-open circuits and rate limits, the lease check of a settle,
the order it writes in, the failure clock and the circuits.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from tests.programs import Row, describe, drive, row
from webhookd.domain import circuit
from webhookd.domain.models import (
    Attempt,
    Circuit,
    DeliveryStatus,
    Job,
    SendResult,
    Settlement,
)
from webhookd.store import programs
from webhookd.store.base import Claimed, ClaimRequest
from webhookd.store.programs import Op

NOW = 1_750_000_000_000
LEASE = 30_000
TOKEN = "lease-mine"
DAY = 86_400_000
OK = SendResult(200, None, 12)
ERROR = SendResult(500, None, 12)
GONE = SendResult(410, None, 12)


# helpers ----------------------------------------------------------------------------
def params(op: Op) -> Mapping[str, Any]:
    assert isinstance(op.params, Mapping), f"{describe(op)} is a batch"
    return op.params


def batch(op: Op) -> list[Mapping[str, Any]]:
    assert not isinstance(op.params, Mapping), f"{describe(op)} is not a batch"
    return list(op.params)


def only(ops: Sequence[Op], query: str) -> Op:
    found = [op for op in ops if op.query == query]
    assert len(found) == 1, f"{query} asked {len(found)} times in {[op.query for op in ops]}"
    return found[0]


def queries(ops: Sequence[Op]) -> list[str]:
    return [op.query for op in ops]


def ids_in(op: Op) -> list[str]:
    """The ids a statement reads or leases (its `ids` list)."""
    found: list[str] = params(op)["ids"]
    return found


def rooms_in(op: Op) -> dict[str, int]:
    """The rooms of the webhooks a `due` read names (its `room_ids` and `rooms`, in step)."""
    read = params(op)
    assert len(read["room_ids"]) == len(read["rooms"])
    return dict(zip(read["room_ids"], read["rooms"], strict=True))


# claim ------------------------------------------------------------------------------
def due(
    id: str,
    webhook: str,
    *,
    retry: bool = False,
    rate_limit: int | None = None,
    circuit_until: int | None = None,
) -> Row:
    """A row of the `due` query."""
    return row(
        id=id, webhook_id=webhook, retry=int(retry), rate_limit=rate_limit,
        circuit_until=circuit_until,
    )  # fmt: skip


def backlog(webhook: str, n: int, **columns: Any) -> list[Row]:
    return [due(f"{webhook}-{k}", webhook, **columns) for k in range(n)]


def webhook_state(
    id: str,
    *,
    active: bool = True,
    rate_limit: int | None = None,
    rate_tokens: float | None = None,
    rate_at: int | None = None,
    state: Circuit = circuit.CLOSED,
    failing_since: int | None = None,
) -> Row:
    """A row of `lock_webhooks`."""
    return row(
        id=id, tenant_id="tenant", active=int(active), rate_limit=rate_limit,
        rate_tokens=rate_tokens, rate_at=rate_at, circuit_failures=state.failures,
        circuit_trips=state.trips, circuit_until=state.until, failing_since=failing_since,
        ops_failing_notified=0, ops_recovery_owed=0, ops_exhausted_at=None,
        ops_exhausted_unsent=0,
    )  # fmt: skip


def request(slots: int, retry_slots: int | None = None, **fields: Any) -> ClaimRequest:
    values: dict[str, Any] = {"per_webhook": 100, "busy": {}, **fields}
    return ClaimRequest(NOW, LEASE, slots, slots if retry_slots is None else retry_slots, **values)


def claim(
    req: ClaimRequest,
    first_read: Sequence[Row],
    *,
    second_read: Sequence[Row] | None = None,
    webhooks: Sequence[Row] = (),
    held_elsewhere: frozenset[str] = frozenset(),
) -> tuple[Claimed, list[Op]]:
    """Run a claim over a queue whose `due` reads answer `first_read` (then
    `second_read`), whose webhooks are `webhooks` (those `held_elsewhere` locked by
    another transaction), and whose lease returns the rows asked for."""
    reads = [first_read] if second_read is None else [first_read, second_read]
    known = {r["id"]: r for read in reads for r in read}
    states = {w["id"]: w for w in webhooks}

    def answer(op: Op) -> Any:
        if op.query == "due":
            assert reads, f"due read once more than this queue expects: {describe(op)}"
            return reads.pop(0)
        if op.query == "try_lock_webhooks":
            return [states[w] for w in ids_in(op) if w not in held_elsewhere]
        if op.query == "webhook_claimed":
            return len(batch(op))
        if op.query == "lease_jobs":
            return [leased(known[i]) for i in ids_in(op)]
        raise AssertionError(f"a claim does not ask for {describe(op)}")

    claimed, ops = drive(programs.claim(req, TOKEN), answer)
    assert not reads, "the claim did not read what is due a second time"
    return claimed, ops


def leased(due_row: Row) -> Row:
    """A row of `lease_jobs` for a row `due` returned."""
    return row(
        id=due_row["id"], webhook_id=due_row["webhook_id"], event_type="order.paid",
        attempts=due_row["retry"], manual=0, url="https://example.com/hook", secret="sealed",
        old_secrets="[]", active=1, fifo=0, headers="{}", auth=None, body=b"{}",
    )  # fmt: skip


def leased_ids(claimed: Claimed) -> list[str]:
    return [job.delivery_id for job in claimed.jobs]


def test_retries_get_only_their_slots_and_first_attempts_the_rest() -> None:
    retries = [due(f"r{n}", f"wh{n}", retry=True) for n in range(3)]
    firsts = [due(f"f{n}", f"wh{n + 3}") for n in range(4)]
    claimed, ops = claim(request(4, retry_slots=1), retries + firsts)
    assert leased_ids(claimed) == ["r0", "f0", "f1", "f2"]
    assert [job.attempts for job in claimed.jobs] == [1, 0, 0, 0]
    read = params(only(ops, "due"))
    assert (read["retry_limit"], read["first_limit"]) == (4, 16)  # 4 rows per slot to pick from
    assert params(only(ops, "lease_jobs"))["until"] == NOW + LEASE


def test_first_attempts_take_the_retry_slots_that_retries_leave_empty() -> None:
    claimed, _ = claim(request(4, retry_slots=3), [due("r0", "a", retry=True), *backlog("b", 5)])
    assert leased_ids(claimed) == ["r0", "b-0", "b-1", "b-2"]


def test_a_retry_backlog_cannot_take_more_slots_than_the_claim_has() -> None:
    claimed, ops = claim(request(2, retry_slots=5), backlog("a", 4, retry=True))
    assert leased_ids(claimed) == ["a-0", "a-1"]
    assert params(only(ops, "due"))["retry_limit"] == 8


def test_with_no_retry_slots_no_retry_is_read_or_taken() -> None:
    claimed, ops = claim(request(2, retry_slots=0), [*backlog("a", 2, retry=True), due("f", "b")])
    assert leased_ids(claimed) == ["f"]
    assert params(only(ops, "due"))["retry_limit"] == 0


def test_one_webhooks_backlog_does_not_take_every_slot() -> None:
    # slow's six are older than fast's four; slow already has one in flight here
    queue = backlog("slow", 6) + backlog("fast", 4)
    claimed, _ = claim(request(6, per_webhook=2, busy={"slow": 1}), queue)
    assert leased_ids(claimed) == ["slow-0", "fast-0", "fast-1"]


def test_webhooks_at_their_cap_are_not_read_and_the_rest_only_up_to_their_room() -> None:
    busy = {"full": 2, "narrow": 1, "half": 1}
    req = request(8, per_webhook=2, busy=busy, caps={"narrow": 1})
    claimed, ops = claim(req, backlog("half", 3) + backlog("idle", 3))
    read = params(only(ops, "due"))
    assert read["excluded"] == ["full", "narrow"]
    assert rooms_in(only(ops, "due")) == {"half": 1}  # the others: `room`, their whole cap
    assert read["room"] == 2
    # the pick keeps to the caps even when the read returns more
    assert leased_ids(claimed) == ["half-0", "idle-0", "idle-1"]


def test_unproven_webhooks_share_only_their_lane() -> None:
    queue = backlog("new", 2) + backlog("other", 1) + backlog("good", 2)
    req = request(5, unproven_slots=1, proven=frozenset({"good"}))
    claimed, ops = claim(req, queue)
    assert leased_ids(claimed) == ["new-0", "good-0", "good-1"]
    assert params(only(ops, "due"))["only"] is None


def test_with_the_unproven_lane_full_only_proven_webhooks_are_read() -> None:
    req = request(5, unproven_slots=0, proven=frozenset({"good", "capped"}), busy={"capped": 100})
    claimed, ops = claim(req, backlog("good", 2) + backlog("new", 2))
    assert params(only(ops, "due"))["only"] == ["good"]
    assert leased_ids(claimed) == ["good-0", "good-1"]  # and never new's, whatever is read


def test_first_attempts_are_read_again_when_the_retries_filled_the_webhook_that_had_them() -> None:
    # busy's retry takes busy's one slot; the window of first attempts (2 slots x 4 rows)
    # was all busy's backlog, read before that: the other webhook's is behind it.
    first = [due("busy-r", "busy", retry=True), *backlog("busy", 8)]
    claimed, ops = claim(
        request(2, retry_slots=1, per_webhook=1), first, second_read=[due("other-0", "other")]
    )
    assert leased_ids(claimed) == ["busy-r", "other-0"]
    again = params([op for op in ops if op.query == "due"][1])
    assert again["excluded"] == ["busy"]
    assert (again["retry_limit"], again["first_limit"]) == (0, 4)  # one slot left, x 4


def test_a_second_read_keeps_the_probe_the_first_one_took() -> None:
    # Three slots, one for retries: busy's retry fills busy, whose backlog takes the
    # window of first attempts but for one half-open webhook's delivery (its probe).
    first = [due("busy-r", "busy", retry=True), *backlog("busy", 11)]
    first.append(due("ho-0", "ho", circuit_until=NOW))
    claimed, ops = claim(
        request(3, retry_slots=1, per_webhook=1), first,
        second_read=[due("ho-0", "ho", circuit_until=NOW), due("other-0", "other")],
        webhooks=[webhook_state("ho", state=Circuit(5, 1, NOW))],
    )  # fmt: skip
    # the probe is sent: the claim wrote that it is out, so it must be leased
    assert leased_ids(claimed) == ["busy-r", "ho-0", "other-0"]
    assert [p["id"] for p in batch(only(ops, "webhook_claimed"))] == ["ho"]


def test_a_second_read_keeps_what_the_first_took_and_reads_those_webhooks_whole_room() -> None:
    first = [due("busy-r", "busy", retry=True), *backlog("busy", 11), due("other-0", "other")]
    claimed, ops = claim(
        request(3, retry_slots=1, per_webhook=2, caps={"busy": 1}), first,
        second_read=backlog("other", 2),
    )  # fmt: skip
    assert leased_ids(claimed) == ["busy-r", "other-0", "other-1"]  # other's cap is 2
    again = [op for op in ops if op.query == "due"][1]
    assert rooms_in(again) == {}  # other's room: all of it, other-0 is read again


def test_no_second_read_when_the_first_attempts_window_was_not_full() -> None:
    # seven rows of a window of eight: that was everything due, nothing is behind it
    first = [due("busy-r", "busy", retry=True), *backlog("busy", 7)]
    claimed, ops = claim(request(2, retry_slots=1, per_webhook=1), first)
    assert leased_ids(claimed) == ["busy-r"]
    assert queries(ops).count("due") == 1


def test_a_half_open_webhook_sends_one_probe() -> None:
    paused = Circuit(5, 1, NOW)  # its cool-down ends now: half-open
    queue = backlog("ho", 3, circuit_until=NOW) + backlog("ok", 1)
    claimed, ops = claim(request(4), queue, webhooks=[webhook_state("ho", state=paused)])
    assert leased_ids(claimed) == ["ho-0", "ok-0"]
    assert [job.probe for job in claimed.jobs] == [True, False]
    assert ids_in(only(ops, "try_lock_webhooks")) == ["ho"]  # read again, locked, first
    assert batch(only(ops, "webhook_claimed")) == [
        {"tokens": None, "at": None, "probe_until": NOW + LEASE, "id": "ho"}
    ]  # no other worker sends a probe while this one is out
    assert queries(ops).index("webhook_claimed") < queries(ops).index("lease_jobs")


def test_a_webhook_whose_probe_another_worker_took_gives_nothing() -> None:
    # `due` saw it half-open; locked, its circuit is open again (another worker's probe)
    reopened = webhook_state("ho", state=Circuit(5, 1, NOW + LEASE))
    claimed, ops = claim(request(4), backlog("ho", 2, circuit_until=NOW - 1), webhooks=[reopened])
    assert claimed == Claimed([], None)
    assert queries(ops) == ["due", "try_lock_webhooks"]


def test_a_webhook_another_transaction_holds_is_skipped_not_waited_for() -> None:
    # A settle of its results holds the half-open webhook: the claim takes the other
    # webhooks' deliveries now (they must not wait behind it) and comes back shortly.
    paused = Circuit(5, 1, NOW)
    queue = backlog("ho", 2, circuit_until=NOW) + backlog("ok", 2)
    claimed, ops = claim(
        request(4), queue, webhooks=[webhook_state("ho", state=paused)],
        held_elsewhere=frozenset({"ho"}),
    )  # fmt: skip
    assert leased_ids(claimed) == ["ok-0", "ok-1"]
    assert "webhook_claimed" not in queries(ops)  # no probe taken for it
    assert claimed.wake_at == NOW + programs.SKIPPED_AGAIN_MS


def test_a_rate_limited_webhook_gives_what_its_bucket_holds_and_says_when_it_refills() -> None:
    # 20/s: a burst of 2 tokens, full (never used)
    queue = backlog("limited", 5, rate_limit=20) + backlog("free", 2)
    hooks = [webhook_state("limited", rate_limit=20)]
    claimed, ops = claim(request(10), queue, webhooks=hooks)
    assert leased_ids(claimed) == ["limited-0", "limited-1", "free-0", "free-1"]
    assert batch(only(ops, "webhook_claimed")) == [
        {"tokens": 0.0, "at": NOW, "probe_until": None, "id": "limited"}
    ]
    assert claimed.wake_at == NOW + 51  # the next token, at 20/s (50 ms, rounded up)


def test_a_rate_limited_webhook_without_a_whole_token_gives_nothing_until_it_has_one() -> None:
    # 10/s: empty 50 ms ago, so half a token now
    refilled = webhook_state("limited", rate_limit=10, rate_tokens=0.0, rate_at=NOW - 50)
    claimed, ops = claim(request(4), backlog("limited", 3, rate_limit=10), webhooks=[refilled])
    assert claimed.jobs == []
    assert claimed.wake_at == NOW + 51  # half a token to go at 10/s: 50 ms, rounded up
    assert queries(ops) == ["due", "try_lock_webhooks"]  # no token taken, nothing written


def test_a_rate_limited_webhook_with_tokens_left_sets_no_wake_up() -> None:
    hooks = [webhook_state("limited", rate_limit=100)]  # a burst of 10
    claimed, ops = claim(request(4), backlog("limited", 3, rate_limit=100), webhooks=hooks)
    assert len(claimed.jobs) == 3
    assert claimed.wake_at is None
    assert batch(only(ops, "webhook_claimed"))[0]["tokens"] == 7.0


# settle -----------------------------------------------------------------------------
BREAKER = circuit.Breaker(failures=3, cooldown_ms=1_000, max_cooldown_ms=8_000)


def job(delivery: str, webhook: str = "wh", *, token: str = TOKEN, probe: bool = False) -> Job:
    return Job(
        delivery, webhook, "order.paid", "https://example.com/hook", "sealed", True, b"{}", 0,
        token, probe=probe,
    )  # fmt: skip


def sent(
    j: Job, result: SendResult, at: int = NOW, *, disable_reason: str | None = None
) -> Settlement:
    if result.ok:
        status, next_at = DeliveryStatus.DELIVERED, None
    elif disable_reason is not None:
        status, next_at = DeliveryStatus.FAILED, None
    else:
        status, next_at = DeliveryStatus.PENDING, at + 5_000
    attempt = Attempt(j.delivery_id, at, result, {"webhook-id": j.delivery_id})
    return Settlement(j, attempt, status, next_at, disable_reason)


def not_sent(j: Job) -> Settlement:
    """The webhook was disabled after the claim: the delivery fails without an attempt."""
    return Settlement(j, None, DeliveryStatus.FAILED)


def settle(
    settlements: Sequence[Settlement],
    *,
    webhooks: Sequence[Row] | None = None,
    holders: Mapping[str, str] | None = None,
    disable_after_ms: int = DAY,
    disabled_tenant: str | None = "tenant-a",
) -> tuple[int, list[Op]]:
    """Run a settle. By default every lease is still held and every webhook healthy;
    `holders` says who holds each lease instead (a delivery missing was deleted)."""
    if holders is None:
        holders = {s.job.delivery_id: s.job.lease_token for s in settlements}
    if webhooks is None:
        webhooks = [webhook_state(w) for w in sorted({s.job.webhook_id for s in settlements})]
    states = {w["id"]: w for w in webhooks}

    def answer(op: Op) -> Any:
        if op.query == "lock_webhooks":
            return [states[w] for w in ids_in(op) if w in states]
        if op.query == "lease_holders":
            return [row(id=d, lease_token=holders[d]) for d in ids_in(op) if d in holders]
        if op.query in ("settle", "record_attempt", "webhook_triggered", "set_circuit"):
            return len(batch(op))
        if op.query == "disable_webhook":
            return None if disabled_tenant is None else row(tenant_id=disabled_tenant)
        if op.query == "insert_audit":
            return 1
        if op.query == "get_webhook":  # the operator's webhook: none here
            return None
        raise AssertionError(f"a settle does not ask for {describe(op)}")

    return drive(programs.settle(settlements, disable_after_ms, BREAKER), answer)


def test_only_results_whose_lease_is_still_held_are_applied() -> None:
    mine, taken_over, deleted = job("d1"), job("d2"), job("d3")
    applied, ops = settle(
        [sent(mine, OK), sent(taken_over, OK), sent(deleted, OK)],
        holders={"d1": TOKEN, "d2": "lease-of-another-worker"},
    )
    assert applied == 1
    assert [p["id"] for p in batch(only(ops, "settle"))] == ["d1"]
    assert [p["token"] for p in batch(only(ops, "settle"))] == [TOKEN]  # checked again by SQL
    assert [p["delivery_id"] for p in batch(only(ops, "record_attempt"))] == ["d1"]


def test_a_batch_whose_leases_are_all_lost_writes_nothing() -> None:
    applied, ops = settle([sent(job("d1"), ERROR)], holders={"d1": "lease-of-another-worker"})
    assert applied == 0
    assert queries(ops) == ["lock_webhooks", "lease_holders"]


def test_an_empty_batch_runs_no_statement() -> None:
    assert drive(programs.settle([], DAY, BREAKER), []) == (0, [])


def test_webhooks_are_locked_before_their_deliveries_and_rows_written_in_id_order() -> None:
    # Two batches that lock the same rows in one order cannot deadlock each other.
    batch_ = [sent(job(d, w), ERROR) for d, w in (("d3", "wb"), ("d1", "wa"), ("d2", "wb"))]
    _, ops = settle(batch_)
    assert queries(ops)[:2] == ["lock_webhooks", "lease_holders"]
    assert ids_in(ops[0]) == ["wa", "wb"]
    assert ids_in(ops[1]) == ["d1", "d2", "d3"]
    assert [p["id"] for p in batch(only(ops, "settle"))] == ["d1", "d2", "d3"]
    assert [p["id"] for p in batch(only(ops, "webhook_triggered"))] == ["wa", "wb"]
    assert [p["id"] for p in batch(only(ops, "set_circuit"))] == ["wa", "wb"]


def test_attempts_are_recorded_only_for_results_with_an_attempt() -> None:
    applied, ops = settle([sent(job("d1"), OK), not_sent(job("d2"))])
    assert applied == 2
    assert [p["id"] for p in batch(only(ops, "settle"))] == ["d1", "d2"]
    assert [p["attempted"] for p in batch(only(ops, "settle"))] == [1, 0]
    assert [p["delivery_id"] for p in batch(only(ops, "record_attempt"))] == ["d1"]


def test_results_without_an_attempt_leave_the_webhooks_clocks_and_circuits_alone() -> None:
    applied, ops = settle([not_sent(job("d1")), not_sent(job("d2"))])
    assert applied == 2
    assert queries(ops) == ["lock_webhooks", "lease_holders", "settle"]


def clocks(ops: Sequence[Op]) -> list[dict[str, Any]]:
    """What `webhook_triggered` wrote of each webhook's clock."""
    keys = ("at", "failing_since", "id")
    return [{k: p[k] for k in keys} for p in batch(only(ops, "webhook_triggered"))]


def test_a_success_resets_the_failure_clock() -> None:
    failing = webhook_state("wh", failing_since=NOW - DAY // 2)
    _, ops = settle([sent(job("d1"), ERROR, NOW), sent(job("d2"), OK, NOW + 7)], webhooks=[failing])
    assert clocks(ops) == [{"at": NOW + 7, "failing_since": None, "id": "wh"}]
    assert "disable_webhook" not in queries(ops)


def test_a_failure_starts_the_failure_clock_and_later_ones_keep_its_start() -> None:
    _, ops = settle([sent(job("d1"), ERROR, NOW + 5), sent(job("d2"), ERROR, NOW + 9)])
    assert clocks(ops) == [{"at": NOW + 9, "failing_since": NOW + 5, "id": "wh"}]
    _, ops = settle(
        [sent(job("d3"), ERROR, NOW + 20)], webhooks=[webhook_state("wh", failing_since=NOW)]
    )
    assert batch(only(ops, "webhook_triggered"))[0]["failing_since"] == NOW


def test_a_webhook_failing_past_disable_after_is_disabled_once_with_an_audit_entry() -> None:
    failing = webhook_state("wh", failing_since=NOW - 2 * DAY)
    results = [sent(job("d1"), ERROR, NOW), sent(job("d2"), ERROR, NOW + 10)]
    _, ops = settle(results, webhooks=[failing], disable_after_ms=2 * DAY)
    disable = params(only(ops, "disable_webhook"))
    assert disable["id"] == "wh"
    assert "failed for 2.0 days" in disable["reason"]
    audit = params(only(ops, "insert_audit"))
    assert (audit["tenant"], audit["action"], audit["webhook_id"], audit["actor"]) == (
        "tenant-a", "webhook.auto_disabled", "wh", "webhookd",
    )  # fmt: skip
    assert audit["at"] == NOW + 10  # the batch's last result
    assert orjson.loads(audit["details"]) == {"reason": disable["reason"]}
    assert queries(ops).index("disable_webhook") < queries(ops).index("insert_audit")


def test_a_webhook_still_inside_disable_after_stays_enabled() -> None:
    failing = webhook_state("wh", failing_since=NOW - 2 * DAY + 1)
    _, ops = settle([sent(job("d1"), ERROR, NOW)], webhooks=[failing], disable_after_ms=2 * DAY)
    assert "disable_webhook" not in queries(ops)


def test_a_webhook_disabled_already_is_not_disabled_or_audited_again() -> None:
    off = webhook_state("wh", active=False, failing_since=NOW - 3 * DAY)
    _, ops = settle([sent(job("d1"), ERROR)], webhooks=[off], disable_after_ms=DAY)
    assert "disable_webhook" not in queries(ops)
    # disabled by another settle between the lock and the write: no second audit entry
    failing = webhook_state("wh", failing_since=NOW - 3 * DAY)
    _, ops = settle([sent(job("d1"), ERROR)], webhooks=[failing], disabled_tenant=None)
    assert "disable_webhook" in queries(ops)
    assert "insert_audit" not in queries(ops)


def test_a_410_disables_the_webhook_at_once() -> None:
    _, ops = settle([sent(job("d1"), GONE, disable_reason="gone for good")])
    assert params(only(ops, "disable_webhook"))["reason"] == "gone for good"
    assert orjson.loads(params(only(ops, "insert_audit"))["details"]) == {"reason": "gone for good"}


def test_a_healthy_webhooks_circuit_is_not_written_again() -> None:
    _, ops = settle([sent(job("d1"), OK), sent(job("d2"), SendResult(404, None, 3))])
    assert "set_circuit" not in queries(ops)


def test_a_success_closes_a_circuit_with_failures() -> None:
    failing = webhook_state("wh", state=Circuit(2, 0, None))
    _, ops = settle([sent(job("d1"), OK)], webhooks=[failing])
    assert batch(only(ops, "set_circuit")) == [
        {"failures": 0, "trips": 0, "until": None, "id": "wh"}
    ]


def test_failures_in_one_batch_open_the_circuit_once() -> None:
    # the breaker opens at the 3rd failure in a row; a result that was already in flight
    # then counts, and does not reopen it for longer
    failing = webhook_state("wh", state=Circuit(1, 0, None))
    results = [sent(job(f"d{n}"), ERROR, NOW + n) for n in range(3)]
    _, ops = settle(results, webhooks=[failing])
    assert batch(only(ops, "set_circuit")) == [
        {"failures": 4, "trips": 1, "until": NOW + 1 + 1_000, "id": "wh"}
    ]


def test_a_failed_probe_reopens_the_circuit_for_twice_as_long() -> None:
    half_open = webhook_state("wh", state=Circuit(3, 1, NOW - 1))
    _, ops = settle([sent(job("d1", probe=True), ERROR, NOW)], webhooks=[half_open])
    assert batch(only(ops, "set_circuit")) == [
        {"failures": 4, "trips": 2, "until": NOW + 2_000, "id": "wh"}
    ]
