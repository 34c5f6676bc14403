"""The whole platform on one machine: broker, database and mailbox, then the five services as
separate processes. `python -m deploy.local.stack up|down|status`; tests use `LocalStack`."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from deploy.local import processes

__all__ = [
    "SERVICES",
    "LocalStack",
    "ServiceExitedError",
    "ServiceSpec",
    "StackNotReadyError",
    "StackPorts",
    "StackUrls",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = REPO_ROOT / ".local"
STATE_FILE = "stack.json"
LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class StackPorts:
    """Every port the stack listens on, all on 127.0.0.1."""

    broker: int = 19092
    mongo: int = 27018
    smtp: int = 1025
    mail_http: int = 8025
    gateway: int = 8000
    identity: int = 8101
    subscriptions: int = 8102
    invoicing: int = 8103
    notifications: int = 8104

    @classmethod
    def free(cls) -> StackPorts:
        """Ports nothing listens on right now (for tests that run beside a developer's stack)."""
        chosen: list[int] = []
        while len(chosen) < len(dataclasses.fields(cls)):
            port = processes.free_port()
            if port not in chosen:
                chosen.append(port)
        return cls(*chosen)

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ServiceSpec:
    """How one service is started: `python -m <module>`, configured by `<prefix>*` variables."""

    name: str
    module: str
    prefix: str
    port_field: str


# Start order; the gateway comes last because it calls identity.
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("identity", "identity", "IDENTITY_", "identity"),
    ServiceSpec("subscriptions", "subscriptions", "SUBSCRIPTIONS_", "subscriptions"),
    ServiceSpec("invoicing", "invoicing", "INVOICING_", "invoicing"),
    ServiceSpec("notifications", "notifications", "NOTIFICATIONS_", "notifications"),
    ServiceSpec("portal-gateway", "portal_gateway", "GATEWAY_", "gateway"),
)
INFRA = ("broker", "database", "mailbox")


def _spec(service: str) -> ServiceSpec:
    for spec in SERVICES:
        if service in (spec.name, spec.module, spec.port_field):
            return spec
    known = ", ".join(s.name for s in SERVICES)
    raise KeyError(f"unknown service {service!r} (known: {known})")


@dataclass(frozen=True)
class StackUrls:
    """Where a person points a browser. Also readable as a mapping: `urls["gateway"]`."""

    gateway: str
    api_docs: str
    mailbox: str

    def __getitem__(self, key: str) -> str:
        if key not in self.as_dict():
            raise KeyError(key)
        return str(getattr(self, key))

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


class StackNotReadyError(RuntimeError):
    """A service did not answer `/health/ready` with 200 in time."""


class ServiceExitedError(StackNotReadyError):
    """A service process ended while the stack was waiting for it."""


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


class LocalStack:
    """The local platform as child processes, each in its own process group.

    `start_infra()` starts Tansu, SecantusDB and the mailbox; `start_services()` the five
    services; `wait_ready()` waits for their readiness probes; `stop()` ends everything.
    As a context manager it does all three on entry and stops on exit."""

    def __init__(self, state_dir: Path, ports: StackPorts | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.ports = ports or StackPorts()
        self.operator_token = secrets.token_urlsafe(32)
        self._infra: dict[str, subprocess.Popen[bytes]] = {}
        self._services: dict[str, subprocess.Popen[bytes]] = {}
        self._extra_env: dict[str, str] = {}

    # -- where things are ---------------------------------------------------------------

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    def log_path(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"

    @property
    def kafka_bootstrap(self) -> str:
        return f"{processes.LOOPBACK}:{self.ports.broker}"

    @property
    def mongo_uri(self) -> str:
        return processes.database_uri(self.ports.mongo)

    @property
    def urls(self) -> StackUrls:
        gateway = f"http://{processes.LOOPBACK}:{self.ports.gateway}"
        return StackUrls(
            gateway=gateway,
            api_docs=f"{gateway}/schema",
            mailbox=f"http://{processes.LOOPBACK}:{self.ports.mail_http}",
        )

    def service_url(self, service: str) -> str:
        return f"http://{processes.LOOPBACK}:{getattr(self.ports, _spec(service).port_field)}"

    @property
    def running(self) -> dict[str, subprocess.Popen[bytes]]:
        """What this stack started and has not stopped yet, by name."""
        return {**self._infra, **self._services}

    def env_for(self, service: str) -> dict[str, str]:
        """The variables this stack sets for one service (on top of the inherited environment);
        `service` is its name, module or port name, e.g. "portal-gateway" or "gateway"."""
        spec = _spec(service)
        p = spec.prefix
        public_url = self.urls.gateway
        env = {
            f"{p}KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            f"{p}MONGO_URI": self.mongo_uri,
            f"{p}HTTP_HOST": processes.LOOPBACK,
            f"{p}HTTP_PORT": str(getattr(self.ports, spec.port_field)),
            f"{p}PROFILE": "local",
            f"{p}ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",  # receivers listen on 127.0.0.1
            # Service logs go to files; unbuffered so a crash leaves its last words there.
            "PYTHONUNBUFFERED": "1",
        }
        if spec.name == "notifications":
            env["NOTIFICATIONS_SMTP_HOST"] = processes.LOOPBACK
            env["NOTIFICATIONS_SMTP_PORT"] = str(self.ports.smtp)
        elif spec.name == "identity":
            env["IDENTITY_PUBLIC_URL"] = public_url
        elif spec.name == "portal-gateway":
            env["GATEWAY_PUBLIC_URL"] = public_url
            env["GATEWAY_IDENTITY_URL"] = self.service_url("identity")
            env["GATEWAY_OPERATOR_TOKEN"] = self.operator_token
        env.update(self._extra_env)
        return env

    # -- lifecycle ------------------------------------------------------------------------

    def start_infra(self) -> None:
        """Broker, database (synced on every commit) and mailbox; stops what it started if one
        of them fails."""
        if self._infra:
            raise RuntimeError("infrastructure already started")
        self._check_ports_free(["broker", "mongo", "smtp", "mail_http"])
        try:
            self._infra["broker"] = processes.start_broker(
                self.ports.broker, self._fresh_log("broker")
            )
            self._infra["database"] = processes.start_database(
                self.ports.mongo, self.state_dir / "db", self._fresh_log("database")
            )
            self._infra["mailbox"] = processes.start_mailbox(
                self.ports.smtp,
                self.ports.mail_http,
                self.state_dir / "mail",
                self._fresh_log("mailbox"),
            )
        except BaseException:
            self.stop()
            raise

    def start_services(self, extra_env: Mapping[str, str] | None = None) -> None:
        """The five services as separate processes; `extra_env` overrides any variable."""
        if self._services:
            raise RuntimeError("services already started")
        self._extra_env = dict(extra_env or {})
        self._check_ports_free([spec.port_field for spec in SERVICES])
        try:
            for spec in SERVICES:
                self._services[spec.name] = processes.spawn(
                    [sys.executable, "-m", spec.module],
                    self._fresh_log(spec.name),
                    env=self.env_for(spec.name),
                )
        except BaseException:
            self.stop()
            raise

    def wait_ready(self, timeout: float = 90) -> None:
        """Poll every service's `/health/ready` until each answers 200. Raises
        `ServiceExitedError` (with the end of its log) as soon as one exits."""
        deadline = time.monotonic() + timeout
        waiting = dict(self._services)
        while waiting:
            for name, process in list(waiting.items()):
                if process.poll() is not None:
                    raise ServiceExitedError(
                        f"{name} exited with code {process.returncode} before it was ready; "
                        f"end of {self.log_path(name)}:\n{log_tail(self.log_path(name))}"
                    )
                if _http_ok(f"{self.service_url(name)}/health/ready"):
                    del waiting[name]
            if not waiting:
                return
            if time.monotonic() > deadline:
                tails = "\n".join(
                    f"--- {name} ({self.log_path(name)}):\n{log_tail(self.log_path(name), 15)}"
                    for name in waiting
                )
                raise StackNotReadyError(
                    f"not ready after {timeout}s: {', '.join(waiting)}\n{tails}"
                )
            time.sleep(0.25)

    def stop(self) -> None:
        """Services first (together), then mailbox, database, broker. Safe to call twice."""
        services, self._services = self._services, {}
        if services:
            with ThreadPoolExecutor(max_workers=len(services)) as pool:
                list(pool.map(_stop_group, services.values()))
        for name in ("mailbox", "database", "broker"):
            process = self._infra.pop(name, None)
            if process is not None:
                _stop_group(process)
        for process in self._infra.values():
            _stop_group(process)
        self._infra.clear()

    def __enter__(self) -> LocalStack:
        try:
            self.start_infra()
            self.start_services()
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- state for `up --detach`, `down` and `status` ---------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "launcher_pid": os.getpid(),
            "state_dir": str(self.state_dir),
            "ports": self.ports.as_dict(),
            "operator_token": self.operator_token,
            "urls": self.urls.as_dict(),
            "processes": {
                name: {"pid": p.pid, "args": [str(a) for a in _args(p)]}
                for name, p in self.running.items()
            },
        }

    def write_state(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state(), indent=2))
        tmp.chmod(0o600)  # it holds the operator token
        tmp.replace(path)

    def exited(self) -> dict[str, int]:
        """Processes that ended on their own, with their exit codes."""
        return {name: code for name, p in self.running.items() if (code := p.poll()) is not None}

    # -- internals ------------------------------------------------------------------------

    def _fresh_log(self, name: str) -> Path:
        """Each run gets a clean log; the previous one is kept as `<name>.log.1`."""
        path = self.log_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.replace(path.with_name(path.name + ".1"))
        return path

    def _check_ports_free(self, names: list[str]) -> None:
        busy = [
            f"{name} ({port})"
            for name in names
            if _listening(port := int(getattr(self.ports, name)))
        ]
        if busy:
            raise RuntimeError(
                f"ports already in use: {', '.join(busy)}; is another stack running? "
                "(`python -m deploy.local.stack status`)"
            )


def _args(process: subprocess.Popen[bytes]) -> list[Any]:
    args = process.args
    return list(args) if isinstance(args, list | tuple) else [args]


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """processes.stop, then make sure no straggler of the group survived its leader."""
    processes.stop(process)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(5)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((processes.LOOPBACK, port)) == 0


# -- stopping a stack this process did not start (`down`) ----------------------------------


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_ours(pid: int, args: list[str]) -> bool:
    """Guard against a recycled pid: the process must still run the command we started."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc here: trust the pid
    running = [c.decode(errors="replace") for c in cmdline if c]
    # A console script shows up as `<interpreter> <script> ...`, so compare the arguments only.
    tail = args[1:]
    return bool(running) and running[-len(tail) :] == tail if tail else bool(running)


def _leader_running(pid: int) -> bool:
    """True while the group leader runs; a zombie (exited, parent not yet reaped) has ended."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return _group_alive(pid)
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _stop_recorded(name: str, pid: int, args: list[str], timeout: float = 10.0) -> bool:
    if not _group_alive(pid) or not _is_ours(pid, args):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _leader_running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    # Whatever of the group is left (a hung leader or a straggler) goes now.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    while _leader_running(pid) and time.monotonic() < deadline + 5:
        time.sleep(0.1)
    print(f"stopped {name} (pid {pid})")
    return True


def _is_launcher(pid: int) -> bool:
    try:
        return b"deploy.local.stack" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return data


def _recorded_alive(state: Mapping[str, Any]) -> dict[str, int]:
    return {
        name: int(entry["pid"])
        for name, entry in state.get("processes", {}).items()
        if _group_alive(int(entry["pid"])) and _is_ours(int(entry["pid"]), entry["args"])
    }


def down(state_dir: Path) -> int:
    path = state_dir / STATE_FILE
    state = _read_state(path)
    if state is None:
        print(f"no stack recorded in {path}; nothing to stop")
        return 0
    launcher = int(state.get("launcher_pid", 0))
    if state.get("foreground") and launcher != os.getpid() and _is_launcher(launcher):
        # A foreground `up` stops its children itself, in order; ask it to.
        with contextlib.suppress(ProcessLookupError):
            os.kill(launcher, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while _recorded_alive(state) and time.monotonic() < deadline:
                time.sleep(0.2)
    recorded: dict[str, Any] = state.get("processes", {})

    def stop_one(name: str) -> bool:
        return _stop_recorded(name, int(recorded[name]["pid"]), list(recorded[name]["args"]))

    # Same order as LocalStack.stop: the services together, then mailbox, database, broker.
    service_names = {s.name for s in SERVICES}
    others = [n for n in recorded if n not in service_names and n not in INFRA]
    waves = [[n for n in recorded if n in service_names], others, ["mailbox"], ["database"]]
    for wave in [*waves, ["broker"]]:
        present = [n for n in wave if n in recorded]
        if present:
            with ThreadPoolExecutor(max_workers=len(present)) as pool:
                list(pool.map(stop_one, present))
    left = _recorded_alive(state)
    if left:
        print(f"still running: {left}", file=sys.stderr)
        return 1
    path.unlink(missing_ok=True)
    print("local stack stopped")
    return 0


def status(state_dir: Path) -> int:
    path = state_dir / STATE_FILE
    state = _read_state(path)
    if state is None:
        print(f"not running (no {path})")
        return 1
    ports: dict[str, int] = state.get("ports", {})
    alive = _recorded_alive(state)
    print(f"local stack recorded in {path}")
    for name, entry in state.get("processes", {}).items():
        pid = int(entry["pid"])
        detail = "running" if name in alive else "NOT RUNNING"
        port_name = _spec(name).port_field if name not in INFRA else None
        if port_name is not None and name in alive:
            url = f"http://{processes.LOOPBACK}:{ports[port_name]}/health/ready"
            detail += ", ready" if _http_ok(url) else ", not ready"
        print(f"  {name:<15} pid {pid:<8} {detail}")
    for label, url in state.get("urls", {}).items():
        print(f"  {label:<15} {url}")
    return 0 if len(alive) == len(state.get("processes", {})) else 1


# -- `up` ----------------------------------------------------------------------------------


class _StopSignalError(Exception):
    """SIGINT, SIGTERM or SIGHUP arrived: stop everything."""


def _on_signal(signum: int, frame: object) -> None:
    raise _StopSignalError(signal.Signals(signum).name)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    # SIGINT too: a shell that starts us in the background sets it to "ignore", and a
    # developer's Ctrl-C (or `kill -INT`) must still stop the stack.
    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, _on_signal) for s in stops}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def run_demo(stack: LocalStack) -> None:
    if importlib.util.find_spec("deploy.local.demo") is None:
        print("(no deploy/local/demo.py yet: skipping the demo data)")
        return
    print("loading demo data ...", flush=True)
    result = subprocess.run(
        [
            sys.executable, "-m", "deploy.local.demo",
            "--gateway", stack.urls.gateway,
            "--operator-token", stack.operator_token,
            "--mailbox", stack.urls.mailbox,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    print(result.stdout, end="" if result.stdout.endswith("\n") else "\n")
    if result.returncode != 0:
        print(f"demo failed with exit code {result.returncode}:", file=sys.stderr)
        print(result.stderr, file=sys.stderr)


def banner(stack: LocalStack) -> str:
    urls = stack.urls
    width = 64
    rows = [
        "Customer portal: local stack is up",
        "",
        f"Gateway    {urls.gateway}",
        f"API docs   {urls.api_docs}",
        f"Mail inbox {urls.mailbox}",
        "",
        f"Operator token  {stack.operator_token}",
        f"Logs            {stack.logs_dir}",
    ]
    line = "=" * width
    return "\n".join([line, *rows, line])


def up(state_dir: Path, ports: StackPorts, *, detach: bool, demo: bool, fresh: bool) -> int:
    state_path = state_dir / STATE_FILE
    state = _read_state(state_path)
    if state is not None:
        if _recorded_alive(state):
            print(f"a stack is already running (see {state_path}); run `down` first")
            return 1
        state_path.unlink()
    if fresh:
        for sub in ("db", "mail"):
            shutil.rmtree(state_dir / sub, ignore_errors=True)

    stack = LocalStack(state_dir, ports)
    detached = False
    try:
        with _stop_on_signals():
            print(f"starting broker, database and mailbox (logs in {stack.logs_dir}) ...")
            stack.start_infra()
            print("starting identity, subscriptions, invoicing, notifications, gateway ...")
            stack.start_services()
            stack.write_state(state_path)
            stack.wait_ready()
            if demo:
                run_demo(stack)
            print(banner(stack))
            if detach:
                detached = True
                print(f"running in the background; state in {state_path}")
                where = "" if state_dir == DEFAULT_STATE_DIR else f" --state-dir {state_dir}"
                print(f"stop with: uv run python -m deploy.local.stack{where} down")
                return 0
            state = stack.state() | {"foreground": True}
            state_path.write_text(json.dumps(state, indent=2))
            print("press Ctrl-C to stop", flush=True)
            while not (ended := stack.exited()):
                time.sleep(0.5)
            for name, code in ended.items():
                print(f"{name} exited with code {code}; end of its log:", file=sys.stderr)
                print(log_tail(stack.log_path(name)), file=sys.stderr)
            return 1
    except (KeyboardInterrupt, _StopSignalError):
        print("\nstopping ...")
        return 0
    except (RuntimeError, TimeoutError) as error:  # busy ports, a server or service failing
        print(f"the stack did not come up: {error}", file=sys.stderr)
        return 1
    finally:
        if not detached:
            # A second Ctrl-C must not cut the shutdown short and leave servers behind.
            for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(s, signal.SIG_IGN)
            stack.stop()
            state_path.unlink(missing_ok=True)
            print("local stack stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.stack", description=__doc__)
    parser.add_argument(
        "--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="default: .local/"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="start everything and wait until it is ready")
    up_parser.add_argument("--detach", action="store_true", help="return once it is ready")
    up_parser.add_argument("--no-demo", action="store_true", help="do not load demo data")
    up_parser.add_argument(
        "--fresh", action="store_true", help="empty the database and mail folder first"
    )
    for field in dataclasses.fields(StackPorts):
        up_parser.add_argument(
            f"--{field.name.replace('_', '-')}-port",
            dest=f"port_{field.name}",
            type=int,
            default=field.default,
        )
    commands.add_parser("down", help="stop a stack started with `up --detach`")
    commands.add_parser("status", help="show what runs")
    args = parser.parse_args(argv)

    state_dir: Path = args.state_dir.resolve()
    if args.command == "up":
        ports = StackPorts(
            **{f.name: getattr(args, f"port_{f.name}") for f in dataclasses.fields(StackPorts)}
        )
        return up(state_dir, ports, detach=args.detach, demo=not args.no_demo, fresh=args.fresh)
    if args.command == "down":
        return down(state_dir)
    return status(state_dir)


if __name__ == "__main__":
    sys.exit(main())
