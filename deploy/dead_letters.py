"""List and replay dead letters: `./deploy/dead-letters list <topic> [--limit N] [--json]`,
`./deploy/dead-letters replay <topic> --offset P:N [--offset ...] | --all`.

A dead letter is named by its position in `<topic>.dlt`, PARTITION:OFFSET as `list` shows it;
a bare OFFSET is enough when only one partition has it.

The broker is `--bootstrap`, else `$KAFKA_BOOTSTRAP`, else the one of the local stack started
with `./deploy/portal` (read from `.local/stack.json`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, cast

from aiokafka.errors import KafkaError

from deploy.local.stack import DEFAULT_STATE_DIR, STATE_FILE
from portal_runtime.dead_letters import (
    AmbiguousDeadLetterError,
    DeadLetter,
    Position,
    Replayed,
    UnknownDeadLetterError,
    dead_letters_of,
    list_dead_letters,
    replay,
)

LOOPBACK = "127.0.0.1"
REASON_WIDTH = 60


class NoBrokerError(RuntimeError):
    """Nothing says where the broker is."""


def local_stack_bootstrap(state_dir: Path = DEFAULT_STATE_DIR) -> str | None:
    """The broker address a running `./deploy/portal` stack recorded, if there is one."""
    try:
        state = json.loads((state_dir / STATE_FILE).read_text())
        return f"{LOOPBACK}:{int(state['ports']['broker'])}"
    except (OSError, ValueError, KeyError, TypeError):
        return None


def resolve_bootstrap(
    given: str | None, env: dict[str, str] | None = None, state_dir: Path = DEFAULT_STATE_DIR
) -> str:
    environment = os.environ if env is None else env
    found = given or environment.get("KAFKA_BOOTSTRAP") or local_stack_bootstrap(state_dir)
    if not found:
        raise NoBrokerError(
            "no broker: pass --bootstrap HOST:PORT, set KAFKA_BOOTSTRAP, or start the local "
            "stack with ./deploy/portal"
        )
    return found


def parse_position(text: str) -> Position:
    """`P:N` (offset N of partition P) or a bare `N` (offset N of whichever partition)."""
    try:
        if ":" in text:
            partition, offset = (int(part) for part in text.split(":", 1))
        else:
            partition, offset = 0, int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an offset: {text!r} (use N or PARTITION:N)"
        ) from None
    if partition < 0 or offset < 0:
        raise argparse.ArgumentTypeError(f"not an offset: {text!r} (negative)")
    position: Position = offset if ":" not in text else (partition, offset)
    return position


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--bootstrap", help="broker HOST:PORT")
    common.add_argument(
        "--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="local stack state (.local/)"
    )
    main = argparse.ArgumentParser(
        prog="deploy/dead-letters",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = main.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", parents=[common], help="show the dead letters of a topic")
    listing.add_argument("topic", help="the topic (or its .dlt topic)")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (50)")
    listing.add_argument("--since-offset", type=int, default=0, help="start at this offset")
    listing.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    listing.add_argument("--body", action="store_true", help="with --json: include the body")

    replaying = commands.add_parser(
        "replay", parents=[common], help="publish dead letters to their topic again"
    )
    replaying.add_argument("topic", help="the topic (or its .dlt topic)")
    chosen = replaying.add_mutually_exclusive_group(required=True)
    chosen.add_argument(
        "--offset",
        dest="offsets",
        action="append",
        type=parse_position,
        help="a dead letter's PARTITION:OFFSET (or OFFSET if unambiguous); repeatable",
    )
    chosen.add_argument("--all", action="store_true", help="every dead letter of the topic")
    replaying.add_argument(
        "--profile",
        choices=("local", "kafka"),
        default=os.environ.get("PORTAL_PROFILE", "local"),
        help="producer settings: local (Tansu) or kafka (idempotent, acks=all)",
    )
    replaying.add_argument("--json", action="store_true", help="JSON lines instead of text")
    return main


def _cell(value: object, width: int | None = None) -> str:
    text = "-" if value is None or value == "" else " ".join(str(value).split())
    if width is not None and len(text) > width:
        return text[: width - 1] + "…"
    return text


def render_table(dead_letters: Sequence[DeadLetter]) -> str:
    """A table a person reads: where each dead letter came from, who gave up and why."""
    heads = ("POSITION", "WHEN (UTC)", "FROM", "CONSUMER", "TYPE", "EVENT", "KEY", "ERROR")
    rows = [
        (
            d.position,
            d.timestamp.strftime("%Y-%m-%d %H:%M:%S") if d.timestamp else "-",
            f"{_cell(d.original_topic)}[{_cell(d.original_partition)}]@{_cell(d.original_offset)}",
            _cell(d.consumer),
            _cell(d.message_type),
            _cell(d.event_id),
            _cell(d.key, 24),
            _cell(f"{d.error_type or 'Error'}: {d.reason or ''}", REASON_WIDTH),
        )
        for d in dead_letters
    ]
    widths = [max(len(row[i]) for row in (heads, *rows)) for i in range(len(heads))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (heads, *rows)
    ]
    return "\n".join(lines)


async def run_list(args: argparse.Namespace, bootstrap: str) -> int:
    found = await list_dead_letters(
        bootstrap, args.topic, limit=args.limit + 1, since_offset=args.since_offset
    )
    shown, more = found[: args.limit], len(found) > args.limit
    if args.json:
        for dead_letter in shown:
            print(json.dumps(dead_letter.as_json(with_body=args.body)))
        return 0
    dlt = dead_letters_of(args.topic)
    if not shown:
        print(f"no dead letters on {dlt}")
        return 0
    print(render_table(shown))
    if more:
        print("(more dead letters follow: raise --limit, or skip offsets with --since-offset)")
    return 0


def describe(done: Replayed) -> str:
    d = done.dead_letter
    return (
        f"replayed {d.replayed_from} ({_cell(d.message_type)} {_cell(d.event_id)}) "
        f"to {done.topic}[{done.partition}]@{done.offset}"
    )


async def run_replay(args: argparse.Namespace, bootstrap: str) -> int:
    chosen: list[Position] | Literal["all"] = "all" if args.all else args.offsets
    profile = cast(Literal["local", "kafka"], args.profile)
    replayed = await replay(bootstrap, args.topic, chosen, profile=profile)
    for done in replayed:
        if args.json:
            entry: dict[str, Any] = {
                "replayed_from": done.dead_letter.replayed_from,
                "topic": done.topic,
                "partition": done.partition,
                "offset": done.offset,
                "message_type": done.dead_letter.message_type,
                "event_id": done.dead_letter.event_id,
            }
            print(json.dumps(entry))
        else:
            print(describe(done))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "list" and args.limit < 1:
        print("--limit must be at least 1", file=sys.stderr)
        return 2
    try:
        bootstrap = resolve_bootstrap(args.bootstrap, state_dir=args.state_dir)
        run = run_list if args.command == "list" else run_replay
        return asyncio.run(run(args, bootstrap))
    except (NoBrokerError, UnknownDeadLetterError, AmbiguousDeadLetterError, ValueError) as error:
        print(f"dead-letters: {error}", file=sys.stderr)
        return 2
    except KafkaError as error:
        print(f"dead-letters: broker {bootstrap}: {error!r}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `| head`: the reader has what it wanted
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - so exiting does not complain again
        return 0


if __name__ == "__main__":
    sys.exit(main())
