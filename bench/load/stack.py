"""The two set-ups the load suite starts and breaks: processes, their supervisor, the faults.

(a) PostgreSQL (a throw-away cluster from scripts/pg.sh, with `synchronous_commit = on` so a
crash may not lose a commit it acknowledged) + Redis (`redis-server` on a free port, the
channel layer through `REDIS_URL`) + 4 uvicorn processes accepting on ONE listening socket the
suite binds and hands down (`uvicorn --fd`, as systemd socket activation or gunicorn's
pre-fork do; the kernel spreads connections, no proxy in between) + two `yishiting worker`s.
(b) the embedded set-up: one `yishiting serve` process on SQLite, worker in-process.

Each process runs under `Supervised`, a loop that starts it again 0.5 s after it dies: it
stands in for systemd's `Restart=always` + `RestartSec=0.5`. Nothing here is a human.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from yishiting.core.asgi import KEEP_ALIVE_SECONDS

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
RESTART_SEC = 0.5
# Server processes of the SQLite set-up's `yishiting serve`: one per core of this 2-core machine.
SERVE_PROCESSES = 2


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0) -> None:
    """Until `url` answers (any HTTP status), or fail."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError as exc:
            last = exc
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s: {last}")


class Supervised:
    """A process kept running: started again RESTART_SEC after it exits, until `stop()`."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        log: Path,
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        self.name, self.argv, self.env, self.log, self.pass_fds = name, argv, env, log, pass_fds
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts: list[float] = []  # wall-clock time of every start
        self.exits: list[int] = []  # return code of every exit
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"sup-{name}", daemon=True)

    def start(self) -> Supervised:
        self._thread.start()
        self._started.wait(10)
        return self

    def _loop(self) -> None:
        with open(self.log, "ab") as log:
            while not self._stopping.is_set():
                self.proc = subprocess.Popen(
                    self.argv,
                    env=self.env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=self.pass_fds,
                    start_new_session=True,
                )
                self.starts.append(time.time())
                self._started.set()
                code = self.proc.wait()
                self.exits.append(code)
                if self._stopping.wait(RESTART_SEC):
                    break

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> int:
        """`kill -9` the running process; returns how many starts there were before."""
        before = len(self.starts)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        return before

    def wait_restarted(self, starts_before: int, timeout: float = 30.0) -> float:
        """Seconds until a new process is running after a kill."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if len(self.starts) > starts_before and self.alive():
                return time.monotonic() - t0
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} was not restarted within {timeout} s")

    def stop(self) -> None:
        """Stop supervising and end the process (SIGTERM, then SIGKILL)."""
        self._stopping.set()
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self._thread.join(5)


class Postgres:
    """A throw-away cluster (scripts/pg.sh) that commits synchronously; restartable."""

    def __init__(self, base: Path) -> None:
        self.dir = base / "pg"
        self.url = ""

    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.getuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return argv

    def _data(self) -> Path:
        where = self.dir / "elsewhere"
        base = Path(where.read_text().strip()) if where.exists() else self.dir
        return base / "data"

    def _bindir(self) -> Path:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if found:
            return found[-1].parent
        pg_ctl = shutil.which("pg_ctl")
        assert pg_ctl, "pg_ctl not found (scripts/deps.sh installs PostgreSQL)"
        return Path(pg_ctl).parent

    def start(self) -> str:
        script = str(ROOT / "scripts" / "pg.sh")
        self.url = subprocess.run(
            [script, "start", str(self.dir)], check=True, capture_output=True, text=True
        ).stdout.strip()
        # pg.sh tunes its cluster for tests (synchronous_commit off); a crash test needs every
        # acknowledged commit on disk, as a production server has it.
        self._psql("ALTER SYSTEM SET synchronous_commit = on")
        self._psql("ALTER SYSTEM SET max_connections = 300")
        self.restart(mode="fast")
        return self.url

    def _psql(self, sql: str) -> None:
        sock = str(self._data().parent)  # pg.sh puts the socket beside data/
        subprocess.run(
            [
                str(self._bindir() / "psql"),
                "-q",
                "-h",
                sock,
                "-p",
                "54329",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
        )

    def restart(self, mode: str = "immediate") -> float:
        """`pg_ctl restart -m immediate` (a crash of the server, then recovery); seconds taken."""
        t0 = time.monotonic()
        subprocess.run(
            self._as_owner(
                [
                    str(self._bindir() / "pg_ctl"),
                    "-D",
                    str(self._data()),
                    "-m",
                    mode,
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(self._data().parent / "postgresql.log"),
                    "restart",
                ]
            ),
            check=True,
            capture_output=True,
            cwd="/",
        )
        return time.monotonic() - t0

    def stop(self) -> None:
        subprocess.run(
            [str(ROOT / "scripts" / "pg.sh"), "destroy", str(self.dir)],
            check=False,
            capture_output=True,
        )


class Redis:
    """`redis-server` on a free port, nothing saved to disk."""

    def __init__(self, base: Path) -> None:
        self.port = free_port()
        self.base = base
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        exe = shutil.which("redis-server")
        assert exe, "redis-server not found (scripts/deps.sh installs it)"
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.base),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return f"redis://127.0.0.1:{self.port}/0"
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


class ServeChild:
    """One of `yishiting serve`'s server processes, which serve's own supervisor (uvicorn's)
    starts again: the `server` fault of the SQLite set-up. The parent, which runs the worker,
    is the `worker` fault's."""

    def __init__(self, parent: Supervised, index: int, count: int) -> None:
        self.parent, self.index, self.count = parent, index, count
        self.name = f"serve-child{index + 1}"
        self.starts: list[float] = [time.time()]
        self._before: set[int] = set()

    def pids(self) -> list[int]:
        """The server processes now under the parent (not multiprocessing's helpers)."""
        out = []
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{self.parent.pid}/task").iterdir():
                for pid in (task / "children").read_text().split():
                    with contextlib.suppress(OSError):
                        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                            out.append(int(pid))
        return sorted(out)

    def alive(self) -> bool:
        return self.parent.alive() and len(self.pids()) == self.count

    def kill9(self) -> int:
        pids = self.pids()
        self._before = set(pids)
        if pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pids[self.index % len(pids)], signal.SIGKILL)
        return len(self.starts)

    def wait_restarted(self, starts_before: int, timeout: float = 30.0) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            now = set(self.pids())
            if len(now) == self.count and now - self._before:
                self.starts.append(time.time())
                return time.monotonic() - t0
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} was not restarted within {timeout} s")

    def stop(self) -> None:
        """Stopped with its parent."""


@dataclass
class Stack:
    """A running set-up: where to reach it and the processes the faults may kill."""

    kind: str  # "pg" or "sqlite"
    base: Path
    url: str
    env: dict[str, str]
    servers: list[Supervised | ServeChild] = field(default_factory=list)
    worker: Supervised | None = None
    more_workers: list[Supervised] = field(default_factory=list)
    postgres: Postgres | None = None
    redis: Redis | None = None
    listener: socket.socket | None = None

    def processes(self) -> list[Supervised | ServeChild]:
        both = [*self.servers, *([self.worker] if self.worker else []), *self.more_workers]
        return list(dict.fromkeys(both))  # one `yishiting serve` may be both

    def stop(self) -> None:
        for p in self.processes():
            p.stop()
        if self.listener is not None:
            self.listener.close()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


def base_env(base: Path) -> dict[str, str]:
    """The environment of every process of a set-up: its own data directory, DEBUG off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YISHITING_", "PG"))}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        YISHITING_DATA_DIR=str(base / "data"),
        YISHITING_MEDIA_ROOT=str(base / "data" / "media"),
        YISHITING_DEBUG="0",
        YISHITING_SECRET_KEY=secrets.token_urlsafe(40),
        YISHITING_ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
        YISHITING_DB_POOL="8",
        # Every simulated resident comes from 127.0.0.1: one address would hit the public
        # submission limit (docs/security.md) after 20 submissions an hour.
        YISHITING_RATELIMIT="0",
    )
    # An experiment's knobs (docs/settings.md), passed through when set.
    for knob in ("HTTP_CONCURRENCY", "TASK_THREADS", "SWEEP_THREADS"):
        if os.environ.get(f"YISHITING_{knob}"):
            env[f"YISHITING_{knob}"] = os.environ[f"YISHITING_{knob}"]
    (base / "data").mkdir(parents=True, exist_ok=True)
    return env


def seed(env: dict[str, str], base: Path, first_response: int) -> Path:
    """Migrate and seed the county; the client's credentials file."""
    out = base / "creds.json"
    subprocess.run(
        [
            PYTHON,
            "-m",
            "bench.load.seed",
            str(out),
            "--first-response",
            str(first_response),
            "--parent-response",
            str(2 * first_response),
        ],
        env=env,
        cwd=ROOT,
        check=True,
    )
    return out


# The city set-up's worker processes (docs/deploy.md starts two). The first is the `worker`
# fault's target; each one's sweep shuffles its due requests, so they mostly take different
# ones (docs/proof.md, session 15).
WORKERS = 2


@contextlib.contextmanager
def postgres_stack(
    base: Path, first_response: int, servers: int = 4
) -> Iterator[tuple[Stack, Path]]:
    """Set-up (a): PostgreSQL + Redis + `servers` uvicorn processes on one socket + WORKERS
    workers."""
    env = base_env(base)
    stack = Stack("pg", base, "", env)
    try:
        stack.postgres = Postgres(base)
        env["DATABASE_URL"] = stack.postgres.start()
        stack.redis = Redis(base)
        env["REDIS_URL"] = stack.redis.start()
        creds = seed(env, base, first_response)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(2048)
        listener.set_inheritable(True)
        stack.listener = listener
        port = listener.getsockname()[1]
        stack.url = f"http://127.0.0.1:{port}"
        fd = listener.fileno()
        for i in range(servers):
            stack.servers.append(
                Supervised(
                    f"server{i + 1}",
                    [
                        PYTHON,
                        "-m",
                        "uvicorn",
                        "config.asgi:application",
                        "--fd",
                        str(fd),
                        "--lifespan",
                        "off",
                        "--log-level",
                        "warning",
                        "--no-access-log",
                        "--timeout-keep-alive",
                        str(KEEP_ALIVE_SECONDS),
                    ],
                    {**env, "PGAPPNAME": f"server{i + 1}"},  # pg_stat_activity tells them apart
                    base / f"server{i + 1}.log",
                    pass_fds=(fd,),
                ).start()
            )
        stack.worker = Supervised(
            "worker",
            [PYTHON, "-m", "yishiting.cli", "worker"],
            {**env, "PGAPPNAME": "worker"},
            base / "worker.log",
        ).start()
        for i in range(2, WORKERS + 1):  # as docs/deploy.md's layout: yishiting-worker@1, @2
            stack.more_workers.append(
                Supervised(
                    f"worker{i}",
                    [PYTHON, "-m", "yishiting.cli", "worker"],
                    {**env, "PGAPPNAME": f"worker{i}"},
                    base / f"worker{i}.log",
                ).start()
            )
        wait_http(stack.url + "/api/v1/categories")
        yield stack, creds
    finally:
        stack.stop()


@contextlib.contextmanager
def sqlite_stack(
    base: Path, first_response: int, processes: int = SERVE_PROCESSES
) -> Iterator[tuple[Stack, Path]]:
    """Set-up (b): `yishiting serve` on the embedded SQLite database: `processes` server
    processes (YISHITING_SERVE_PROCESSES) and the worker in their parent."""
    env = base_env(base)
    env["YISHITING_SERVE_PROCESSES"] = str(processes)
    stack = Stack("sqlite", base, "", env)
    try:
        creds = seed(env, base, first_response)
        port = free_port()
        stack.url = f"http://127.0.0.1:{port}"
        serve = Supervised(
            "serve",
            [PYTHON, "-m", "yishiting.cli", "serve", "--port", str(port)],
            env,
            base / "serve.log",
        ).start()
        stack.worker = serve
        if processes == 1:
            stack.servers.append(serve)
        else:
            stack.servers += [ServeChild(serve, i, processes) for i in range(processes)]
        wait_http(stack.url + "/api/v1/categories")
        yield stack, creds
    finally:
        stack.stop()
