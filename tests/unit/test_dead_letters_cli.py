"""The dead-letters command without a broker: its arguments, where it finds the broker and
the table it prints."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deploy import dead_letters as cli
from portal_runtime.dead_letters import DeadLetter

pytestmark = pytest.mark.unit


def dead_letter(partition: int, offset: int, reason: str) -> DeadLetter:
    return DeadLetter(
        dlt_topic="invoicing.payment-events.dlt",
        partition=partition,
        offset=offset,
        timestamp=datetime(2026, 11, 22, 1, 30, 5, tzinfo=UTC),
        original_topic="invoicing.payment-events",
        original_partition=2,
        original_offset=41,
        consumer="portal-gateway",
        error_type="ValidationError",
        reason=reason,
        key="cus_8f3a",
        message_type="PaymentSucceeded",
        event_id="5b1f0c1e-0000-4000-8000-000000000001",
        organisation_id="org_acme_fitness",
        headers={},
        body=b"{}",
    )


def test_positions_are_an_offset_or_partition_and_offset() -> None:
    assert cli.parse_position("7") == 7
    assert cli.parse_position("3:12") == (3, 12)
    for wrong in ("x", "1:", "-1", "2:-4", "1:2:3"):
        with pytest.raises(argparse.ArgumentTypeError):
            cli.parse_position(wrong)


def test_replay_needs_offsets_or_all_but_not_both(capsys: pytest.CaptureFixture[str]) -> None:
    parse = cli.parser().parse_args

    args = parse(["replay", "billing", "--offset", "1", "--offset", "2:5"])
    assert args.offsets == [1, (2, 5)]
    assert parse(["replay", "billing", "--all"]).all
    for wrong in (["replay", "billing"], ["replay", "billing", "--all", "--offset", "1"]):
        with pytest.raises(SystemExit):
            parse(wrong)
    listing = parse(["list", "billing", "--limit", "5", "--json", "--bootstrap", "h:1"])
    assert (listing.limit, listing.json, listing.bootstrap) == (5, True, "h:1")
    capsys.readouterr()


def test_the_broker_is_the_option_then_the_environment_then_the_local_stack(
    tmp_path: Path,
) -> None:
    (tmp_path / "stack.json").write_text(json.dumps({"ports": {"broker": 19555}}))
    env = {"KAFKA_BOOTSTRAP": "kafka:9092"}

    assert cli.resolve_bootstrap("given:1", env, tmp_path) == "given:1"
    assert cli.resolve_bootstrap(None, env, tmp_path) == "kafka:9092"
    assert cli.resolve_bootstrap(None, {}, tmp_path) == "127.0.0.1:19555"
    with pytest.raises(cli.NoBrokerError, match="--bootstrap"):
        cli.resolve_bootstrap(None, {}, tmp_path / "nothing-here")


def test_the_table_shows_where_a_dead_letter_came_from_and_why() -> None:
    table = cli.render_table(
        [
            dead_letter(0, 4, "amount\nis negative"),
            dead_letter(3, 0, "x" * 200),
        ]
    )
    head, first, second = table.splitlines()

    assert head.split()[:3] == ["POSITION", "WHEN", "(UTC)"]
    assert first.startswith("0:4 ")
    assert "2026-11-22 01:30:05" in first
    assert "invoicing.payment-events[2]@41" in first
    assert "portal-gateway" in first
    assert "PaymentSucceeded" in first
    assert "ValidationError: amount is negative" in first
    assert second.startswith("3:0 ")
    assert second.endswith("…")
    assert len(second) < 250


def test_without_a_broker_the_command_says_how_to_name_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP", raising=False)

    assert cli.main(["list", "billing", "--state-dir", str(tmp_path)]) == 2
    assert "--bootstrap" in capsys.readouterr().err
