"""Verification names the first altered, missing or reordered receipt, and what happened to it."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tai_graph.errors import LedgerError
from tai_graph.ledger.canonical import signed_bytes
from tai_graph.ledger.keys import ServiceKey, hmac_hex, load_public_keys, public_jwks
from tai_graph.ledger.receipts import GENESIS_HASH, build_receipt, receipt_hash
from tai_graph.ledger.verify import VerificationReport, read_receipts, verify_receipts
from tai_graph.model import Event

SECRET = "customer-secret"
KEY = ServiceKey.ephemeral()
KEYS = load_public_keys(public_jwks([KEY]))  # built from the published JWKS only
META = {"version": "0.1.0", "hostname": "host-1", "region": "local"}
T0 = datetime(2026, 1, 19, 10, 0, tzinfo=UTC)

MODES: dict[str, dict[str, Any]] = {
    "secret+keys": {"secret": SECRET, "public_keys": KEYS},
    "secret": {"secret": SECRET},
    "keys": {"public_keys": KEYS},
}
ALL_MODES = {**MODES, "chain-only": {}}


def chain(
    n: int, *, customer: str = "acme", secret: str = SECRET, key: ServiceKey = KEY
) -> list[dict[str, Any]]:
    """Receipts 1..n of one customer, as JSON bodies (event ids E1..En)."""
    out: list[dict[str, Any]] = []
    previous = GENESIS_HASH
    for seq in range(1, n + 1):
        event = Event(
            f"E{seq}",
            T0 + timedelta(minutes=seq),
            customer,
            "order",
            {"order_id": f"O-{seq}", "channel": "web", "amount": f"{seq}.50", "status": "fulfilled"},
        )
        receipt = build_receipt(
            event,
            sequence=seq,
            previous_hash=previous,
            key=KEY,
            secret=SECRET,
            system_metadata=META,
            verification_timestamp=T0 + timedelta(minutes=seq, seconds=1),
        )
        previous = receipt_hash(receipt.signed_bytes)
        out.append(copy.deepcopy(receipt.body))
    return out


def resign(body: dict[str, Any], key: ServiceKey = KEY, secret: str = SECRET) -> dict[str, Any]:
    """What an insider holding the key and the secret could do after changing a receipt."""
    data = signed_bytes(body)
    body["signature"] = hmac_hex(secret, data)
    body["ed25519_signature"] = key.sign(data)
    return body


def first(report: VerificationReport) -> tuple[int | None, str | None, str]:
    assert not report.ok
    assert report.first_problem is not None
    p = report.first_problem
    return p.sequence, p.event_id, p.kind


CLEAN = chain(10)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_an_untouched_chain_verifies(mode: str) -> None:
    report = verify_receipts(CLEAN, **ALL_MODES[mode])
    assert report.ok and report.first_problem is None and report.problems == ()
    assert report.checked == 10 and report.problem_count == 0
    assert report.head_sequence == 10
    assert report.head_hash == receipt_hash(signed_bytes(CLEAN[-1]))


def test_empty_set() -> None:
    report = verify_receipts([], secret=SECRET)
    assert report.ok and report.checked == 0
    assert (report.head_sequence, report.head_hash) == (0, GENESIS_HASH)


# -- altered content and signatures -----------------------------------------------------------


@pytest.mark.parametrize("mode", ALL_MODES)
def test_tampered_data_value_is_named_altered(mode: str) -> None:
    receipts = copy.deepcopy(CLEAN)
    receipts[4]["data"]["amount"] = "5000.50"
    report = verify_receipts(receipts, **ALL_MODES[mode])
    assert first(report) == (5, "E5", "altered")


@pytest.mark.parametrize("mode", MODES)
def test_tampered_last_receipt_is_named_altered(mode: str) -> None:
    receipts = copy.deepcopy(CLEAN)
    receipts[-1]["data"]["status"] = "cancelled"
    assert first(verify_receipts(receipts, **MODES[mode])) == (10, "E10", "altered")


@pytest.mark.parametrize("mode", MODES)
def test_an_added_field_is_an_alteration(mode: str) -> None:
    receipts = copy.deepcopy(CLEAN)
    receipts[2]["note"] = "inserted later"
    assert first(verify_receipts(receipts, **MODES[mode])) == (3, "E3", "altered")


@pytest.mark.parametrize("mode", ["secret+keys", "keys"])
def test_replaced_ed25519_signature_is_named_bad_signature(mode: str) -> None:
    receipts = copy.deepcopy(CLEAN)
    receipts[4]["ed25519_signature"] = receipts[3]["ed25519_signature"]
    report = verify_receipts(receipts, **MODES[mode])
    assert first(report) == (5, "E5", "bad-signature")
    assert report.problem_count == 1


@pytest.mark.parametrize("mode", ["secret+keys", "secret"])
def test_replaced_hmac_is_named_bad_hmac(mode: str) -> None:
    receipts = copy.deepcopy(CLEAN)
    receipts[4]["signature"] = "0" * 64
    report = verify_receipts(receipts, **MODES[mode])
    assert first(report) == (5, "E5", "bad-hmac")
    assert report.problem_count == 1


def test_wrong_secret_fails_every_hmac_but_bounds_the_list() -> None:
    report = verify_receipts(chain(30), secret="wrong", max_problems=5)
    assert first(report) == (1, "E1", "bad-hmac")
    assert report.problem_count == 30 and len(report.problems) == 5
    assert [p.sequence for p in report.problems] == [1, 2, 3, 4, 5]


def test_resigned_with_another_key_under_the_same_key_id() -> None:
    receipts = copy.deepcopy(CLEAN)
    receipts[4]["ed25519_signature"] = ServiceKey.ephemeral().sign(signed_bytes(receipts[4]))
    assert first(verify_receipts(receipts, secret=SECRET, public_keys=KEYS)) == (5, "E5", "bad-signature")
    assert first(verify_receipts(receipts, public_keys=KEYS)) == (5, "E5", "bad-signature")


def test_resigned_with_another_key_and_its_own_key_id() -> None:
    receipts = copy.deepcopy(CLEAN)
    rogue = ServiceKey.ephemeral()
    receipts[4]["data"]["amount"] = "0.00"
    receipts[4]["key_id"] = rogue.key_id
    resign(receipts[4], key=rogue)
    report = verify_receipts(receipts, secret=SECRET, public_keys=KEYS)
    assert first(report) == (5, "E5", "unknown-key")
    assert rogue.key_id in report.problems[0].message


@pytest.mark.parametrize("mode", MODES)
def test_changed_previous_hash_without_the_keys_is_an_alteration(mode: str) -> None:
    receipts = copy.deepcopy(CLEAN)
    receipts[4]["previous_hash"] = receipt_hash(b"forged")
    assert first(verify_receipts(receipts, **MODES[mode])) == (5, "E5", "altered")


def test_changed_previous_hash_without_signature_checks_names_the_receipt() -> None:
    receipts = copy.deepcopy(CLEAN)
    receipts[4]["previous_hash"] = receipt_hash(b"forged")
    report = verify_receipts(receipts)
    assert report.first_problem is not None and report.first_problem.sequence == 5


@pytest.mark.parametrize("mode", ALL_MODES)
def test_changed_previous_hash_resigned_by_an_insider_breaks_the_chain(mode: str) -> None:
    receipts = copy.deepcopy(CLEAN)
    receipts[4]["previous_hash"] = receipt_hash(b"forged")
    resign(receipts[4])
    report = verify_receipts(receipts, **ALL_MODES[mode])
    assert first(report)[:2] == (5, "E5")
    if mode != "chain-only":
        assert first(report)[2] == "broken-chain"
        assert "hash of receipt 4" in report.problems[0].message


@pytest.mark.parametrize("mode", ALL_MODES)
def test_first_receipt_must_follow_genesis(mode: str) -> None:
    receipts = copy.deepcopy(CLEAN)
    receipts[0]["previous_hash"] = "1" * 64
    resign(receipts[0])
    report = verify_receipts(receipts, **ALL_MODES[mode])
    assert first(report)[:2] == (1, "E1")
    assert "genesis" in report.problems[0].message or first(report)[2] == "altered"


# -- missing, reordered, duplicate ------------------------------------------------------------


@pytest.mark.parametrize("mode", ALL_MODES)
def test_dropped_receipt_is_named_missing(mode: str) -> None:
    receipts = CLEAN[:4] + CLEAN[5:]
    report = verify_receipts(receipts, **ALL_MODES[mode])
    assert first(report) == (5, None, "missing")
    assert report.problem_count == 1
    assert "receipt 5 is missing" in report.problems[0].message


def test_dropped_run_and_dropped_first() -> None:
    report = verify_receipts(CLEAN[:4] + CLEAN[7:], secret=SECRET)
    assert first(report) == (5, None, "missing")
    assert "5-7 (3)" in report.problems[0].message
    assert first(verify_receipts(CLEAN[1:], secret=SECRET)) == (1, None, "missing")


@pytest.mark.parametrize("mode", ALL_MODES)
def test_swapped_receipts_are_named_reordered(mode: str) -> None:
    receipts = [*CLEAN[:4], CLEAN[5], CLEAN[4], *CLEAN[6:]]
    report = verify_receipts(receipts, **ALL_MODES[mode])
    assert first(report) == (6, "E6", "reordered")
    assert report.problem_count == 1


def test_receipt_moved_to_the_end_is_the_one_named() -> None:
    receipts = [CLEAN[0], *CLEAN[2:], CLEAN[1]]
    report = verify_receipts(receipts, secret=SECRET, public_keys=KEYS)
    assert first(report) == (2, "E2", "reordered")
    assert report.problem_count == 1
    assert report.first_problem is not None and report.first_problem.position == 1


def test_receipt_moved_to_the_front_is_the_one_named() -> None:
    receipts = [CLEAN[0], CLEAN[8], *CLEAN[1:8], CLEAN[9]]
    report = verify_receipts(receipts, secret=SECRET, public_keys=KEYS)
    assert first(report) == (9, "E9", "reordered")
    assert report.problem_count == 1


@pytest.mark.parametrize("mode", ALL_MODES)
def test_repeated_receipt_is_named_duplicate(mode: str) -> None:
    receipts = [*CLEAN[:5], CLEAN[4], *CLEAN[5:]]
    report = verify_receipts(receipts, **ALL_MODES[mode])
    assert first(report) == (5, "E5", "duplicate")
    assert report.problem_count == 1 and report.first_problem is not None
    assert report.first_problem.position == 5


def test_an_early_receipt_seen_again_is_a_duplicate() -> None:
    receipts = [CLEAN[0], CLEAN[4], CLEAN[1], CLEAN[4], *CLEAN[2:4], *CLEAN[5:]]
    report = verify_receipts(receipts, secret=SECRET)
    assert [(p.sequence, p.kind, p.position) for p in report.problems] == [
        (5, "reordered", 1),
        (5, "duplicate", 3),
    ]


def test_the_first_of_several_problems_is_first() -> None:
    receipts = copy.deepcopy(CLEAN)
    receipts[2]["data"]["channel"] = "amazon"
    del receipts[6]
    report = verify_receipts(receipts, secret=SECRET, public_keys=KEYS)
    assert [(p.sequence, p.kind) for p in report.problems] == [(3, "altered"), (7, "missing")]
    report = verify_receipts(CLEAN[:2] + CLEAN[3:8] + CLEAN[9:], secret=SECRET)
    assert [(p.sequence, p.kind) for p in report.problems] == [(3, "missing"), (9, "missing")]


# -- malformed and foreign receipts -----------------------------------------------------------


def test_malformed_receipts_keep_their_place() -> None:
    receipts: list[Any] = copy.deepcopy(CLEAN)
    receipts[3]["data"]["amount"] = 4.5  # a float: never in a receipt we made
    del receipts[6]["key_id"]
    receipts.insert(8, ["not", "an", "object"])
    report = verify_receipts(receipts, secret=SECRET, public_keys=KEYS)
    assert [(p.sequence, p.kind) for p in report.problems] == [
        (4, "malformed"),
        (7, "malformed"),
        (None, "malformed"),
    ]
    assert "decimals as strings" in report.problems[0].message
    assert "key_id" in report.problems[1].message


def test_receipt_of_another_customer_is_not_part_of_the_chain() -> None:
    receipts = copy.deepcopy(CLEAN)
    receipts[4] = chain(5, customer="other")[4]
    report = verify_receipts(receipts, public_keys=KEYS)
    assert first(report) == (5, "E5", "broken-chain")
    assert "'other'" in report.problems[0].message


# -- partial sets -----------------------------------------------------------------------------


def test_a_slice_verifies_from_its_own_start_or_against_an_anchor() -> None:
    receipts = chain(20)
    tail = receipts[10:]
    assert verify_receipts(tail, secret=SECRET, expect_start=None).ok
    anchor = receipt_hash(signed_bytes(receipts[9]))
    assert verify_receipts(tail, secret=SECRET, expect_start=11, anchor_hash=anchor).ok
    report = verify_receipts(tail, secret=SECRET, expect_start=11, anchor_hash="f" * 64)
    assert first(report) == (11, "E11", "broken-chain")
    assert "anchor" in report.problems[0].message
    assert first(verify_receipts(tail, secret=SECRET)) == (1, None, "missing")
    with pytest.raises(LedgerError):
        verify_receipts(tail, expect_start=0)


def test_streams_long_sets_with_bounded_memory() -> None:
    receipts = chain(5000)
    moved = receipts[:9] + receipts[10:] + [receipts[9]]

    def stream() -> Any:
        yield from moved

    report = verify_receipts(stream(), secret=SECRET)
    assert first(report) == (10, "E10", "reordered")
    assert report.problem_count == 1 and report.head_sequence == 5000


def test_report_is_json_ready() -> None:
    report = verify_receipts(CLEAN[:4] + CLEAN[5:], secret=SECRET)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False and data["first_problem"]["kind"] == "missing"
    assert data["problems"][0]["sequence"] == 5


# -- reading receipt files --------------------------------------------------------------------


def test_reads_ndjson_arrays_and_audit_trails(tmp_path: Path) -> None:
    ndjson = tmp_path / "r.ndjson"
    ndjson.write_text("\n" + "\n".join(json.dumps(r) for r in CLEAN) + "\n\n")
    array = tmp_path / "r.json"
    array.write_text(json.dumps(CLEAN, indent=2))
    trail = tmp_path / "trail.json"
    trail.write_text(json.dumps({"receipts": CLEAN, "verification": {"ok": True}, "next": None}))
    single = tmp_path / "one.json"
    single.write_text(json.dumps(CLEAN[0], indent=2))
    empty = tmp_path / "empty.ndjson"
    empty.write_text("")
    for path in (ndjson, array, trail):
        assert list(read_receipts(path)) == CLEAN
        assert verify_receipts(read_receipts(path), secret=SECRET, public_keys=KEYS).ok
    assert list(read_receipts(single)) == CLEAN[:1]
    assert list(read_receipts(empty)) == []


def test_reading_names_the_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text(json.dumps(CLEAN[0]) + "\n" + json.dumps(CLEAN[1])[:-5] + "\n")
    with pytest.raises(LedgerError, match=r"bad\.ndjson:2"):
        list(read_receipts(bad))
    dup = tmp_path / "dup.ndjson"
    dup.write_text('{"sequence": 1, "sequence": 2}\n')
    with pytest.raises(LedgerError, match="duplicate key 'sequence'"):
        list(read_receipts(dup))
    scalar = tmp_path / "scalar.json"
    scalar.write_text("[1]")
    with pytest.raises(LedgerError, match="must be a JSON object"):
        list(read_receipts(scalar))


def test_a_float_in_a_file_is_reported_not_crashed_on(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson"
    lines = [json.dumps(r) for r in CLEAN]
    lines[2] = lines[2].replace('"3.50"', "3.50")
    path.write_text("\n".join(lines))
    report = verify_receipts(read_receipts(path), secret=SECRET)
    assert first(report) == (3, "E3", "malformed")


def test_signature_is_checked_over_recomputed_bytes_not_trusted_text() -> None:
    receipts = copy.deepcopy(CLEAN)
    sig = base64.b64decode(receipts[1]["ed25519_signature"])
    receipts[1]["ed25519_signature"] = base64.b64encode(sig[:-1] + bytes([sig[-1] ^ 1])).decode()
    assert first(verify_receipts(receipts, public_keys=KEYS)) == (2, "E2", "bad-signature")
