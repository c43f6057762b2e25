"""The scenarios of the suite, run in groups (`bench/run --only GROUP,...`):

startup    exec → first 200 on the JWKS: Tessera on a fresh SQLite file (generates its RSA key),
           Tessera restarted on that file, the peer; idle RSS of each one second after start.
compare    Tessera and the peer in turns (A B A B), same load: discovery GET, JWKS GET,
           client_credentials with RS256 and with ES256 (one signed JWT per request, no ID
           token), introspection of an access token.
sqlite     Tessera alone on SQLite: authorization_code exchange with PKCE (codes made
           beforehand through the mockCallback connector), refresh with rotation (one chain
           per worker), 8 concurrent refreshes of one token (reuseInterval 30s: all must
           succeed with one successor; afterwards a replay of an older token must be refused
           and revoke the family), the full browser login with the password form
           (authorize → form → approval → code → token → userinfo, argon2id user), device-flow
           polling of pending device codes.
isolation  client_credentials and JWKS p99 at low load, alone and during a login flood.
rotation   issue + introspect under load while the signing key rotates (short
           keysRotationPeriod): no failure, every token stays introspectable.
grpc       Dex's gRPC API on the SQLite server (plaintext, loopback): ListClients with 100 API
           clients stored, CreateClient (id given, secret generated, hashed and returned once),
           VerifyPassword of the argon2id user (one hash check per call).
postgres   refresh with rotation, the 8-way contention and the full browser login on PostgreSQL.
mariadb    the same three on MariaDB (storage type mysql).
replicas   two Tessera replicas on one PostgreSQL database (both on CPU 0) against one:
           refresh chains alternating between replicas, and the 8-way contention split
           across them.
soak       abandoned auth requests (GET /auth → connector page, never finished, like a load
           balancer's health check) at a steady rate while logins go on; RSS and the
           auth_requests table sampled throughout (expiry.authRequests 1m, so the 5-minute
           garbage collection must keep the table bounded).
fapi       FAPI 2.0 paths against their plain ones on an ES256 server, server CPU per request
           compared: PAR with private_key_jwt vs client_secret_basic; client_credentials with
           private_key_jwt and a DPoP proof vs client_secret_basic; /userinfo with a DPoP-bound
           token and a proof vs a bearer token. The budget: the plain path's CPU plus one
           ES256 verification per extra JWT (criterion's figure, group micro), plus 10%.
micro      criterion: JWT sign/verify per algorithm, argon2id and bcrypt verification,
           storage operations on the hot paths (benches/).
"""

import glob
import json
import os
import sqlite3
import subprocess
import time

import servers as S
from servers import log

GROUPS = ["micro", "startup", "compare", "sqlite", "isolation", "grpc", "fapi", "rotation", "postgres", "mariadb",
          "replicas", "soak"]


class Profile:
    def __init__(self, round_s, rounds, warmup_s, code_pool, soak_seconds, bench_args):
        self.round_s, self.rounds, self.warmup_s = round_s, rounds, warmup_s
        self.code_pool, self.soak_seconds, self.bench_args = code_pool, soak_seconds, bench_args
        self.postgres, self.mariadb, self.only = True, True, None

    @staticmethod
    def quick():
        return Profile(round_s=2, rounds=2, warmup_s=0.5, code_pool=600, soak_seconds=0,
                       bench_args=["--warm-up-time", "0.3", "--measurement-time", "1"])

    @staticmethod
    def full():
        # Sized so the whole suite, soak included, fits in 15 minutes on 2 cores.
        return Profile(round_s=3, rounds=2, warmup_s=1, code_pool=2000, soak_seconds=600,
                       bench_args=["--warm-up-time", "0.5", "--measurement-time", "1"])

    def wants(self, group):
        return self.only is None or group in self.only


# Per-side load generator flags for the comparable scenarios.
TESSERA_FLAGS = []
PEER_FLAGS = ["--jwks-path", "/jwks", "--introspect-path", "/token/introspection",
              "--introspect-token-param", "resource=urn:bench:opaque"]

COMPARE = [
    # id, title, loadgen scenario, concurrency, extra flags for the peer
    ("discovery", "Discovery GET", "discovery", 32, []),
    ("jwks", "JWKS GET", "jwks", 32, []),
    ("cc_rs256", "client_credentials, RS256", "client-credentials", 16, []),
    ("cc_es256", "client_credentials, ES256", "client-credentials", 16, ["--cc-param", "resource=urn:bench:es256"]),
    ("introspect", "Introspection of an access token", "introspect", 16, []),
]


def summarize(reports, rss=None):
    """One side of a scenario from its rounds: mean throughput and latencies, summed failures."""
    n = len(reports)
    failures = {}
    for r in reports:
        for k, v in r["failures"].items():
            failures[k] = failures.get(k, 0) + v
    checks = {}
    for r in reports:
        for k, v in r.get("checks", {}).items():
            checks[k] = checks.get(k, 0) + v
    out = {
        "ops_per_s": round(sum(r["ops_per_s"] for r in reports) / n, 1),
        "p50_ms": round(sum(r["latency_ms"]["p50"] for r in reports) / n, 3),
        "p99_ms": round(sum(r["latency_ms"]["p99"] for r in reports) / n, 3),
        "ops": sum(r["ops"] for r in reports),
        "failed": sum(r["failed"] for r in reports),
        "errors_5xx": sum(v for k, v in failures.items() if k.startswith("http 5")),
        "failures": failures,
        "checks": checks,
        "rounds": [{"ops_per_s": round(r["ops_per_s"], 1), "p99_ms": r["latency_ms"]["p99"]} for r in reports],
    }
    if rss:
        out.update(rss)
    return out


def measure(server_list, targets, scenario, concurrency, duration, flags):
    """One load generator run with RSS sampled on the given servers (plain GETs through wrk)."""
    wrk = scenario in S.WRK_PATHS and len(targets) == 1
    with S.RssSampler(server_list) as sampler:
        report = S.loadgen(targets, scenario, concurrency, duration, flags, wrk=wrk)
    return report, sampler


def interleaved(profile, sides, scenario, concurrency, count=None):
    """Runs `scenario` on each side in turns, `profile.rounds` times; `sides` maps a name to
    (servers to sample, targets, flags), or (servers, targets, flags, scenario) for a side
    that runs a scenario of its own. Returns {side: summary}."""
    reports = {name: [] for name in sides}
    samples = {name: [] for name in sides}
    cpu = {name: [] for name in sides}
    steal = {name: [] for name in sides}
    own = {name: (side[3] if len(side) > 3 else scenario) for name, side in sides.items()}
    for name, (srvs, targets, flags, *_) in sides.items():
        if profile.warmup_s and count is None:
            S.loadgen(targets, own[name], concurrency, profile.warmup_s, flags)
    for _ in range(profile.rounds):
        for name, (srvs, targets, flags, *_) in sides.items():
            extra = list(flags) + (["--count", str(count)] if count else [])
            report, sampler = measure(srvs, targets, own[name], concurrency, profile.round_s * (10 if count else 1),
                                      extra)
            reports[name].append(report)
            for s in srvs:
                samples[name].extend(sampler.samples[s.name])
            cpu[name].append(sum(sampler.cpu.values()))
            steal[name].append(sampler.steal)
    out = {}
    for name in sides:
        values = samples[name] or [0]
        rss = {"rss_load_mb": round(sum(values) / len(values) / 1024, 1), "rss_max_mb": round(max(values) / 1024, 1),
               "server_cpu": round(sum(cpu[name]) / len(cpu[name]), 2),
               "steal": round(sum(steal[name]) / len(steal[name]), 2)}
        out[name] = summarize(reports[name], rss)
    return out


def scenario_entry(sid, title, unit, result, note=""):
    entry = {"id": sid, "title": title, "unit": unit, "sides": result, "note": note}
    if "tessera" in result and "peer" in result and result["peer"]["ops_per_s"] > 0:
        entry["ratio"] = round(result["tessera"]["ops_per_s"] / result["peer"]["ops_per_s"], 2)
    return entry


# --- groups ----------------------------------------------------------------------------------

def run_micro(profile, out):
    """Criterion benches pinned to the server's CPU; figures read from criterion's JSON."""
    env = dict(os.environ)
    crit_dir = os.path.join(S.TARGET_DIR, "criterion")
    for bench in ("crypto", "storage"):
        log(f"criterion: {bench}")
        subprocess.run(["taskset", "-c", S.SERVER_CPU, "cargo", "bench", "--quiet", "--bench", bench, "--"]
                       + profile.bench_args, cwd=S.ROOT, env=env, check=True, capture_output=True)
    micro = {}
    for path in glob.glob(os.path.join(crit_dir, "**", "new", "benchmark.json"), recursive=True):
        with open(path) as f:
            full_id = json.load(f)["full_id"]
        with open(os.path.join(os.path.dirname(path), "estimates.json")) as f:
            est = json.load(f)
        micro[full_id] = {"mean_us": round(est["mean"]["point_estimate"] / 1000, 3),
                          "median_us": round(est["median"]["point_estimate"] / 1000, 3)}
    out["micro"] = dict(sorted(micro.items()))


def run_startup(work, password_hash, out):
    db = os.path.join(work, "startup.db")
    cold = S.tessera("tessera-startup", work, password_hash, S.sqlite_storage(db)).start()
    time.sleep(1)
    idle_rss = cold.rss_kb()
    cold_ms = cold.startup_ms
    cold.stop()
    warm = []
    for _ in range(3):
        server = S.tessera("tessera-startup", work, password_hash, S.sqlite_storage(db)).start()
        warm.append(server.startup_ms)
        server.stop()
    peer = S.peer(work).start()
    time.sleep(1)
    peer_idle, peer_ms = peer.rss_kb(), peer.startup_ms
    peer.stop()
    out["startup"] = {"tessera_cold_ms": round(cold_ms, 1), "tessera_warm_ms": round(sorted(warm)[1], 1),
                      "tessera_warm_all_ms": [round(w, 1) for w in warm], "peer_ms": round(peer_ms, 1)}
    out["idle_rss_mb"] = {"tessera": round(idle_rss / 1024, 1), "peer": round(peer_idle / 1024, 1)}


def run_compare(profile, work, password_hash, main, peer, out):
    es = S.tessera("tessera-es256", work, password_hash, S.sqlite_storage(os.path.join(work, "es256.db")),
                   algorithm="ES256").start()
    try:
        for sid, title, scenario, concurrency, peer_extra in COMPARE:
            log(f"compare: {title}")
            ours = es if sid == "cc_es256" else main
            sides = {"tessera": ([ours], [ours.base_url], TESSERA_FLAGS),
                     "peer": ([peer], [peer.base_url], PEER_FLAGS + peer_extra)}
            result = interleaved(profile, sides, scenario, concurrency)
            out["scenarios"].append(scenario_entry(sid, title, "req/s", result))
    finally:
        es.stop()


def run_tessera_only(profile, server, out, prefix, title_suffix, which):
    target = [server.base_url]
    plans = {
        "code": ("code_exchange", "authorization_code exchange, PKCE", "code-exchange", 16, [], profile.code_pool,
                 "req/s"),
        "refresh": ("refresh", "refresh_token with rotation", "refresh", 16, [], None, "req/s"),
        "contention": ("refresh_contention", "8 concurrent refreshes of one token", "refresh-contention", 2, [], None,
                       "rounds/s"),
        "login": ("login", "full browser login (password, argon2id)", "login", 4, [], None, "flows/s"),
        "device": ("device_poll", "device-flow polling (pending)", "device-poll", 16, [], None, "req/s"),
    }
    for key in which:
        sid, title, scenario, concurrency, flags, count, unit = plans[key]
        log(f"{prefix}: {title}")
        sides = {"tessera": ([server], target, flags)}
        result = interleaved(profile, sides, scenario, concurrency, count=count)
        out["scenarios"].append(scenario_entry(f"{prefix}_{sid}", title + title_suffix, unit, result))


def run_grpc(profile, server, out):
    """The gRPC API as an operator's tooling uses it; each worker holds its own connection."""
    target = [server.base_url]
    flags = ["--grpc-target", server.grpc_url]
    plans = [
        ("grpc_list_clients", "gRPC ListClients (100 API clients stored)", "grpc-list-clients", 16),
        ("grpc_create_client", "gRPC CreateClient (secret generated and hashed)", "grpc-create-client", 16),
        ("grpc_verify_password", "gRPC VerifyPassword (argon2id)", "grpc-verify-password", 4),
    ]
    for sid, title, scenario, concurrency in plans:
        log(f"grpc: {title}")
        result = interleaved(profile, {"tessera": ([server], target, flags)}, scenario, concurrency)
        out["scenarios"].append(scenario_entry(sid, title, "req/s", result))


def run_isolation(profile, server, out):
    """cc and JWKS p99 at a low load (2 workers), alone and while 8 workers flood logins."""
    duration = profile.round_s * 2
    t = [server.base_url]
    result = {}
    for scenario in ("client-credentials", "jwks"):
        log(f"isolation: {scenario} alone, then during a login flood")
        alone = S.loadgen(t, scenario, 2, duration)
        flood = S.loadgen_async(t, "login", 8, duration + 1)
        time.sleep(0.5)
        during = S.loadgen(t, scenario, 2, duration)
        logins = S.finish_async(flood, "login")
        result[scenario] = {
            "idle_p99_ms": alone["latency_ms"]["p99"], "flood_p99_ms": during["latency_ms"]["p99"],
            "idle_p50_ms": alone["latency_ms"]["p50"], "flood_p50_ms": during["latency_ms"]["p50"],
            "flood_logins_per_s": round(logins["ops_per_s"], 1),
            "failed": during["failed"] + alone["failed"] + logins["failed"],
        }
    out["isolation"] = result


def run_rotation(profile, work, password_hash, out):
    period = 6 if profile.round_s <= 2 else 10
    server = S.tessera("tessera-rotation", work, password_hash, S.sqlite_storage(os.path.join(work, "rot.db")),
                       rotation=f"{period}s").start()
    try:
        log(f"rotation: issue + introspect while the key rotates (period {period}s)")
        with S.RssSampler([server]) as sampler:
            report = S.loadgen([server.base_url], "issue-introspect", 16, period + 4)
        keys = len(S.get_json(server.base_url + "/keys")["keys"])
        result = summarize([report], sampler.summary(server.name))
        result["checks"]["keys_in_jwks_after"] = keys
        out["scenarios"].append(scenario_entry("rotation", "signing-key rotation during issue + introspect", "req/s",
                                               {"tessera": result}))
    finally:
        server.stop()


def run_postgres(profile, work, password_hash, out, replicas):
    with S.ScratchDatabase() as db:
        a = S.tessera("tessera-pg-a", work, password_hash, S.postgres_storage(db.name)).start()
        b = None
        try:
            run_tessera_only(profile, a, out, "pg", " (PostgreSQL)", ["refresh", "contention", "login"])
            if replicas:
                b = S.tessera("tessera-pg-b", work, password_hash, S.postgres_storage(db.name)).start()
                log("replicas: refresh, one replica vs two (alternating)")
                sides = {"one": ([a], [a.base_url], []), "two": ([a, b], [a.base_url, b.base_url], [])}
                result = interleaved(profile, sides, "refresh", 16)
                entry = scenario_entry("replicas_refresh", "refresh with rotation: 1 vs 2 replicas (PostgreSQL)",
                                       "req/s", result)
                entry["ratio_two_to_one"] = round(result["two"]["ops_per_s"] / max(result["one"]["ops_per_s"], 1e-9), 2)
                out["scenarios"].append(entry)
                log("replicas: 8 concurrent refreshes of one token, split across both")
                sides = {"two": ([a, b], [a.base_url, b.base_url], [])}
                result = interleaved(profile, sides, "refresh-contention", 2)
                out["scenarios"].append(scenario_entry("replicas_contention",
                                                       "8 concurrent refreshes across 2 replicas (PostgreSQL)",
                                                       "rounds/s", result))
        finally:
            a.stop()
            if b:
                b.stop()


def run_mariadb(profile, work, password_hash, out):
    with S.ScratchMariaDB() as db:
        server = S.tessera("tessera-mysql", work, password_hash, S.mysql_storage(db.name)).start()
        try:
            run_tessera_only(profile, server, out, "mysql", " (MariaDB)", ["refresh", "contention", "login"])
        finally:
            server.stop()


def count_rows(db_path, table):
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    except sqlite3.Error:
        return None


def run_soak(profile, work, password_hash, out):
    seconds = profile.soak_seconds
    db = os.path.join(work, "soak.db")
    server = S.tessera("tessera-soak", work, password_hash, S.sqlite_storage(db), auth_requests="1m").start()
    rate = 50
    try:
        log(f"soak: {seconds:.0f} s of abandoned auth requests ({rate}/s) with logins going on")
        t = [server.base_url]
        abandon = S.loadgen_async(t, "auth-abandon", 8, seconds, ["--rate", str(rate)])
        logins = S.loadgen_async(t, "login", 1, seconds)
        start = time.monotonic()
        samples = []
        while abandon.poll() is None or logins.poll() is None:
            samples.append({"t": round(time.monotonic() - start, 1), "rss_mb": round(server.rss_kb() / 1024, 1),
                            "auth_requests": count_rows(db, "auth_requests")})
            time.sleep(min(5, max(seconds / 20, 0.5)))
        a = S.finish_async(abandon, "auth-abandon")
        lg = S.finish_async(logins, "login")
        out["soak"] = {"seconds": seconds, "abandon_rate": rate, "auth_request_lifetime_s": 60, "gc_interval_s": 300,
                       "abandoned": a["ok"], "logins": lg["ok"], "failed": a["failed"] + lg["failed"],
                       "login_p99_ms": lg["latency_ms"]["p99"], "peak_rss_mb": round(server.peak_kb() / 1024, 1),
                       "samples": samples}
    finally:
        server.stop()


# (id, title, plain scenario, FAPI scenario, extra JWTs the FAPI path verifies per request)
FAPI = [
    ("fapi_par", "PAR: private_key_jwt vs client_secret_basic", "par", "par-jwt", 1),
    ("fapi_token", "client_credentials: private_key_jwt + DPoP vs client_secret_basic", "client-credentials",
     "cc-jwt-dpop", 2),
    ("fapi_userinfo", "/userinfo: DPoP-bound token + proof vs bearer", "userinfo", "userinfo-dpop", 1),
]


def run_fapi(profile, work, password_hash, out):
    """Each FAPI path against its plain one on one ES256 server (A B A B); the CPU per request of
    each side is in the entry, and `report.py` holds it to the budget."""
    server = S.tessera("tessera-fapi", work, password_hash, S.sqlite_storage(os.path.join(work, "fapi.db")),
                       algorithm="ES256").start()
    flags = TESSERA_FLAGS + ["--fapi-key", S.FAPI_KEY, "--fapi-client-id", S.FAPI_CLIENT_ID]
    try:
        for sid, title, plain, fapi, extra_jwts in FAPI:
            log(f"fapi: {title}")
            # The same scope on both sides: one ID token besides the access token.
            plain_flags = flags + (["--cc-scope", "openid"] if plain == "client-credentials" else [])
            sides = {"plain": ([server], [server.base_url], plain_flags, plain),
                     "fapi": ([server], [server.base_url], flags, fapi)}
            result = interleaved(profile, sides, None, 16)
            entry = scenario_entry(sid, title, "req/s", result)
            entry["extra_jwts"] = extra_jwts
            out["scenarios"].append(entry)
    finally:
        server.stop()


def run_all(profile, work):
    out = {"scenarios": []}
    password_hash = S.hash_password(S.PASSWORD)
    if profile.wants("micro"):
        run_micro(profile, out)
    if profile.wants("startup"):
        run_startup(work, password_hash, out)
    main = S.tessera("tessera", work, password_hash, S.sqlite_storage(os.path.join(work, "tessera.db")),
                     grpc=profile.wants("grpc")).start()
    peer = S.peer(work).start() if profile.wants("compare") else None
    try:
        if peer:
            run_compare(profile, work, password_hash, main, peer, out)
        if profile.wants("sqlite"):
            run_tessera_only(profile, main, out, "sqlite", "", ["code", "refresh", "contention", "login", "device"])
        if profile.wants("isolation"):
            run_isolation(profile, main, out)
        if profile.wants("grpc"):
            # After the others: the clients it creates stay in this database.
            run_grpc(profile, main, out)
        out["peak_rss_mb"] = {"tessera": round(main.peak_kb() / 1024, 1)}
        if peer:
            out["peak_rss_mb"]["peer"] = round(peer.peak_kb() / 1024, 1)
    finally:
        main.stop()
        if peer:
            peer.stop()
    if profile.wants("fapi"):
        run_fapi(profile, work, password_hash, out)
    if profile.wants("rotation"):
        run_rotation(profile, work, password_hash, out)
    if profile.postgres and (profile.wants("postgres") or profile.wants("replicas")):
        if S.postgres_available():
            run_postgres(profile, work, password_hash, out, replicas=profile.wants("replicas"))
        else:
            log("PostgreSQL is not reachable on 127.0.0.1:5432: skipping its scenarios")
    if profile.mariadb and profile.wants("mariadb"):
        if S.mariadb_available():
            run_mariadb(profile, work, password_hash, out)
        else:
            log("MariaDB is not reachable on 127.0.0.1:3306: skipping its scenarios")
    if profile.wants("soak") and profile.soak_seconds > 0:
        run_soak(profile, work, password_hash, out)
    return out
