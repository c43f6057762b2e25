"""Processes of the suite: Tessera and the peer (pinned to CPU 0), the load generator
(pinned to CPU 1), their configs, PostgreSQL and MariaDB scratch databases, RSS sampling."""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_DIR = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
TESSERA = os.path.join(TARGET_DIR, "release", "tessera")
LOADGEN = os.path.join(TARGET_DIR, "release", "tessera-loadgen")
SERVER_CPU = "0"
LOADGEN_CPU = "1"
CLIENT_ID = "example-app"
CLIENT_SECRET = "ZXhhbXBsZS1hcHAtc2VjcmV0"
REDIRECT_URI = "http://127.0.0.1:5555/callback"
USER, PASSWORD = "admin@example.com", "password"
# The FAPI scenarios' client: private_key_jwt with the bench's own key pair (made for the bench,
# not a secret), the public half in the config, the private half for the load generator.
FAPI_CLIENT_ID = "fapi-bench"
FAPI_KEY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fapi-client.pem")
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fapi-client.jwks.json")) as _f:
    FAPI_JWKS = _f.read().strip()


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kb(pid, field):
    """VmRSS / VmHWM of a process, in kB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def http_get_status(url, timeout=1.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            r.read()
            return r.status
    except Exception:
        return None


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


class Server:
    """A server process pinned to CPU 0; `start` measures exec → first 200 on the JWKS.
    `grpc_url`: where its gRPC API listens, if it serves one."""

    def __init__(self, name, argv, base_url, jwks_path, workdir, env=None, grpc_url=None):
        self.name, self.argv, self.base_url, self.jwks_path = name, argv, base_url, jwks_path
        self.workdir, self.env, self.proc, self.startup_ms = workdir, env, None, None
        self.grpc_url = grpc_url
        self.log_path = os.path.join(workdir, f"{name}.log")

    def start(self, timeout=60):
        env = dict(os.environ, **(self.env or {}))
        with open(self.log_path, "ab") as out:
            t0 = time.monotonic()
            self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + self.argv, stdout=out,
                                         stderr=subprocess.STDOUT, env=env, cwd=self.workdir)
        url = self.base_url + self.jwks_path
        while time.monotonic() - t0 < timeout:
            if http_get_status(url, timeout=0.5) == 200:
                self.startup_ms = (time.monotonic() - t0) * 1000
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.001)
        self.stop()
        raise RuntimeError(f"{self.name} did not start; see {self.log_path}:\n" + self.tail())

    def tail(self, lines=20):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def rss_kb(self):
        return status_kb(self.pid, "VmRSS")

    def peak_kb(self):
        return status_kb(self.pid, "VmHWM")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def cpu_seconds(pid):
    """User + system CPU time a process has used."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def steal_seconds(cpu):
    """Time the hypervisor gave CPU `cpu` (a string, "0") to someone else: /proc/stat's 8th
    field. On a VM this is CPU the server could not use, which "server CPU" does not show."""
    try:
        with open("/proc/stat") as f:
            for line in f:
                fields = line.split()
                if fields[0] == f"cpu{cpu}":
                    return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        pass
    return 0.0


class RssSampler:
    """Samples the RSS of some servers every `interval` seconds in a thread, and measures the
    CPU they used meanwhile (1.0 = one core busy: the server, not the load generator, was
    the limit)."""

    def __init__(self, servers, interval=0.1):
        self.servers, self.interval = servers, interval
        self.samples = {s.name: [] for s in servers}
        self.cpu = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for s in self.servers:
                kb = s.rss_kb()
                if kb:
                    self.samples[s.name].append(kb)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t0 = time.monotonic()
        self._cpu0 = {s.name: cpu_seconds(s.pid) for s in self.servers}
        self._steal0 = steal_seconds(SERVER_CPU)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        elapsed = max(time.monotonic() - self._t0, 1e-9)
        self.cpu = {s.name: (cpu_seconds(s.pid) - self._cpu0[s.name]) / elapsed for s in self.servers}
        self.steal = (steal_seconds(SERVER_CPU) - self._steal0) / elapsed

    def summary(self, name):
        values = self.samples.get(name) or [0]
        return {"rss_load_mb": round(sum(values) / len(values) / 1024, 1), "rss_max_mb": round(max(values) / 1024, 1),
                "server_cpu": round(self.cpu.get(name, 0.0), 2), "steal": round(self.steal, 2)}


def loadgen_argv(targets, scenario, concurrency, duration, extra=()):
    argv = ["taskset", "-c", LOADGEN_CPU, LOADGEN, "--scenario", scenario, "--concurrency", str(concurrency),
            "--duration", str(duration)]
    for t in targets:
        argv += ["--target", t]
    return argv + list(extra)


# Plain GETs go through wrk (Debian's `wrk`, C and epoll): our reqwest-based load generator
# costs more per request than the servers do on these, so it, not the server, set the rate.
WRK_PATHS = {"discovery": "/.well-known/openid-configuration", "jwks": "/keys"}


def wrk_seconds(text):
    """A wrk duration ("812.00us", "1.20ms", "2.00s") in milliseconds."""
    value, unit = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk_get(target, path, concurrency, duration):
    """One wrk run (one thread, `concurrency` keep-alive connections) as a load generator report."""
    argv = ["taskset", "-c", LOADGEN_CPU, "wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(duration))}s",
            "--latency", target + path]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    total, elapsed = re.search(r"(\d+) requests in ([0-9.]+\w+),", out).groups()
    total, elapsed_s = int(total), wrk_seconds(elapsed) / 1000.0
    failures = {}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        failures["http non-2xx (wrk does not tell 4xx from 5xx)"] = int(bad.group(1))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors and sum(map(int, errors.groups())):
        failures["io"] = sum(map(int, errors.groups()))
    failed = sum(failures.values())
    q = {int(p): wrk_seconds(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\S+)$", out, re.M)}
    mean = re.search(r"Latency\s+(\S+)", out).group(1)
    return {"scenario": path, "targets": [target], "concurrency": concurrency, "ops": total, "ok": total - failed,
            "failed": failed, "failures": failures, "elapsed_s": elapsed_s, "setup_s": 0.0,
            "ops_per_s": (total - failed) / elapsed_s, "checks": {}, "tool": "wrk",
            "latency_ms": {"p50": q[50], "p90": q[90], "p99": q[99], "mean": wrk_seconds(mean)}}


def loadgen(targets, scenario, concurrency, duration, extra=(), wrk=False):
    """Runs the load generator to the end and returns its JSON report; `wrk`: through wrk, for
    the plain GET scenarios (WRK_PATHS) on one target."""
    if wrk:
        flags = dict(zip(extra[::2], extra[1::2]))
        path = flags.get("--jwks-path", WRK_PATHS[scenario]) if scenario == "jwks" else WRK_PATHS[scenario]
        return wrk_get(targets[0], path, concurrency, duration)
    argv = loadgen_argv(targets, scenario, concurrency, duration, extra)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 300)
    if done.returncode != 0:
        raise RuntimeError(f"loadgen {scenario} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def loadgen_async(targets, scenario, concurrency, duration, extra=()):
    """Starts the load generator; `.communicate()` on the result gives (stdout, stderr)."""
    argv = loadgen_argv(targets, scenario, concurrency, duration, extra)
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_async(proc, scenario):
    out, err = proc.communicate(timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"loadgen {scenario} failed: {err.strip()}")
    return json.loads(out)


# --- Tessera -------------------------------------------------------------------------------

def hash_password(password):
    """An argon2id hash at the shipped parameters, from `tessera hash-password`."""
    done = subprocess.run([TESSERA, "hash-password"], input=password, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def tessera_config(port, storage, password_hash, algorithm="RS256", rotation="6h", auth_requests="24h",
                   grpc_port=None):
    """A config like config.example.yaml (metrics on, as there) plus what the scenarios need: client_credentials and
    the device grant on, the consent page shown (part of the login flow), a `reuseInterval`
    under which the 8 concurrent refreshes of one token are legitimate retries, an argon2id
    user, the mockCallback connector for code pools and, with `grpc_port`, the gRPC API
    (plaintext on loopback, as a local admin tool reaches it)."""
    issuer = f"http://127.0.0.1:{port}/dex"
    grpc = f"grpc:\n  addr: 127.0.0.1:{grpc_port}\n" if grpc_port else ""
    return f"""issuer: {issuer}
storage:
{storage}
web:
  http: 127.0.0.1:{port}
telemetry:
  http: 127.0.0.1:{free_port()}
logger:
  level: info
expiry:
  authRequests: {auth_requests}
  refreshTokens:
    reuseInterval: 30s
oauth2:
  grantTypes: [authorization_code, refresh_token, client_credentials, "urn:ietf:params:oauth:grant-type:device_code"]
  skipApprovalScreen: false
signer:
  type: local
  config:
    algorithm: {algorithm}
    keysRotationPeriod: {rotation}
staticClients:
  - id: {CLIENT_ID}
    secret: {CLIENT_SECRET}
    name: Example App
    redirectURIs: [{REDIRECT_URI}, {issuer}/device/callback]
  - id: {FAPI_CLIENT_ID}
    name: FAPI bench client
    redirectURIs: [{REDIRECT_URI}]
    tokenEndpointAuthMethod: private_key_jwt
    jwks: {FAPI_JWKS}
enablePasswordDB: true
staticPasswords:
  - email: {USER}
    hash: "{password_hash}"
    username: admin
    userID: 08a8684b-db88-4b73-90a9-3cd1661f5466
connectors:
  - type: mockCallback
    id: mock
    name: Mock
# The load generator is one address: the per-address /auth rate would throttle the load itself.
throttle:
  authRequestsPerSecond: 0
{grpc}"""


def sqlite_storage(path):
    return f"  type: sqlite3\n  config:\n    file: {path}"


def postgres_storage(database):
    return ("  type: postgres\n  config:\n    host: 127.0.0.1\n    port: 5432\n"
            f"    database: {database}\n    user: postgres\n    ssl:\n      mode: disable\n"
            "    maxOpenConns: 10\n    maxIdleConns: 10")


def mysql_storage(database):
    return ("  type: mysql\n  config:\n    host: 127.0.0.1\n    port: 3306\n"
            f"    database: {database}\n    user: root\n    ssl:\n      mode: \"false\"\n"
            "    maxOpenConns: 10\n    maxIdleConns: 10")


def tessera(name, workdir, password_hash, storage, grpc=False, **config):
    port = free_port()
    grpc_port = free_port() if grpc else None
    path = os.path.join(workdir, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(tessera_config(port, storage, password_hash, grpc_port=grpc_port, **config))
    return Server(name, [TESSERA, "serve", path], f"http://127.0.0.1:{port}/dex", "/keys", workdir,
                  grpc_url=f"http://127.0.0.1:{grpc_port}" if grpc else None)


def peer(workdir):
    port = free_port()
    script = os.path.join(ROOT, "bench", "peer", "peer.js")
    return Server("peer", ["node", script, str(port)], f"http://127.0.0.1:{port}", "/jwks", workdir,
                  env={"NODE_ENV": "production"})


# --- PostgreSQL ----------------------------------------------------------------------------

def psql(sql):
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
                   check=True, capture_output=True)


def postgres_available():
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"], capture_output=True).returncode == 0


class ScratchDatabase:
    """A fresh PostgreSQL database, dropped on exit."""

    def __init__(self):
        self.name = f"tessera_bench_{os.getpid()}_{int(time.time() * 1000) % 100000000}"

    def __enter__(self):
        psql(f"CREATE DATABASE {self.name}")
        return self

    def __exit__(self, *exc):
        try:
            psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        except subprocess.CalledProcessError as e:
            log(f"could not drop {self.name}: {e.stderr}")


# --- MariaDB / MySQL -----------------------------------------------------------------------

def mariadb(sql):
    subprocess.run(["mariadb", "-h", "127.0.0.1", "-P", "3306", "-u", "root", "-e", sql], check=True,
                   capture_output=True)


def mariadb_available():
    return subprocess.run(["mariadb-admin", "-h", "127.0.0.1", "-P", "3306", "-u", "root", "ping"],
                          capture_output=True).returncode == 0


class ScratchMariaDB:
    """A fresh MariaDB database (utf8mb4, as the README asks), dropped on exit."""

    def __init__(self):
        self.name = f"tessera_bench_{os.getpid()}_{int(time.time() * 1000) % 100000000}"

    def __enter__(self):
        mariadb(f"CREATE DATABASE {self.name} CHARACTER SET utf8mb4")
        return self

    def __exit__(self, *exc):
        try:
            mariadb(f"DROP DATABASE IF EXISTS {self.name}")
        except subprocess.CalledProcessError as e:
            log(f"could not drop {self.name}: {e.stderr}")
