"""Targets (met / not met with the measured figure), the markdown report and an SVG chart,
all computed from the results JSON (bench/results/latest.json) so that old runs (kept
locally in the git-ignored bench/results/history/) can be re-rendered and compared."""

import html


def scenario(results, sid):
    return next((s for s in results.get("scenarios", []) if s["id"] == sid), None)


def side(results, sid, name="tessera"):
    s = scenario(results, sid)
    return s["sides"].get(name) if s else None


def verdict(name, ok, measured, target):
    state = "n/a" if ok is None else ("met" if ok else "NOT MET")
    return {"target": name, "goal": target, "measured": measured, "verdict": state}


def ratio_target(results, sid, label, factor):
    s = scenario(results, sid)
    if not s or "ratio" not in s:
        return verdict(label, None, "not run", f"≥ {factor}× the peer")
    t, p = s["sides"]["tessera"]["ops_per_s"], s["sides"]["peer"]["ops_per_s"]
    return verdict(label, s["ratio"] >= factor, f"{s['ratio']}× ({t:,.0f} vs {p:,.0f} req/s)", f"≥ {factor}× the peer")


def micro_us(results, key):
    m = results.get("micro", {}).get(key)
    return m["median_us"] if m else None


def refresh_semantics(results, sid):
    s = side(results, sid) or side(results, sid, "two")
    if not s:
        return None, "not run"
    c = s["checks"]
    rounds = c.get("rounds", 0)
    intact = (rounds > 0 and c.get("rounds_all_ok", 0) == rounds and c.get("rounds_one_successor", 0) == rounds
              and c.get("reuse_checked", 0) > 0 and c.get("old_token_refused", 0) == c.get("reuse_checked")
              and c.get("family_revoked_after_reuse", 0) == c.get("reuse_checked"))
    ok = s["errors_5xx"] == 0 and intact
    text = (f"{s['errors_5xx']} 5xx in {rounds} rounds; all 8 ok: {c.get('rounds_all_ok', 0)}/{rounds}; "
            f"one successor: {c.get('rounds_one_successor', 0)}/{rounds}; old token refused + family revoked: "
            f"{c.get('family_revoked_after_reuse', 0)}/{c.get('reuse_checked', 0)}")
    return ok, text


def verdicts(results):
    out = [
        ratio_target(results, "discovery", "Discovery ≥ 5× the peer", 5),
        ratio_target(results, "jwks", "JWKS ≥ 5× the peer", 5),
        ratio_target(results, "cc_rs256", "client_credentials RS256 ≥ 2× the peer", 2),
    ]
    # The ceiling: one bare RSA-2048 signature (aws-lc-rs, key parsed once) plus the HTTP
    # floor, i.e. the cost of a discovery GET on Tessera in the same run.
    cc, disc = side(results, "cc_rs256"), side(results, "discovery")
    sign, jwt_sign = micro_us(results, "rsa2048/sign/key-parsed-once"), micro_us(results, "jwt/sign/RS256")
    if cc and disc and sign and disc["ops_per_s"] > 0:
        floor_us = 1e6 / disc["ops_per_s"]
        ceiling = 1e6 / (sign + floor_us)
        share = cc["ops_per_s"] / ceiling
        out.append(verdict("client_credentials RS256 ≥ 80% of its ceiling", share >= 0.8,
                           f"{share:.0%} ({cc['ops_per_s']:,.0f} of {ceiling:,.0f} req/s = 1/(RSA-2048 sign "
                           f"{sign:.0f} µs + HTTP floor {floor_us:.0f} µs); Tessera's JWT sign: {jwt_sign or 0:.0f} µs)",
                           "≥ 80%"))
    else:
        out.append(verdict("client_credentials RS256 ≥ 80% of its ceiling", None, "not run", "≥ 80%"))
    out.append(ratio_target(results, "introspect", "Introspection ≥ 3× the peer", 3))

    login, argon = side(results, "sqlite_login"), (micro_us(results, "password/verify/argon2id-reused-memory")
                                                     or micro_us(results, "password/verify/argon2id"))
    if login and argon:
        ceiling = 1e6 / argon
        share = login["ops_per_s"] / ceiling
        out.append(verdict("Password login ≥ 85% of the argon2id ceiling", share >= 0.85,
                           f"{share:.0%} ({login['ops_per_s']:.1f} of {ceiling:.1f} flows/s = 1/argon2id "
                           f"{argon / 1000:.1f} ms)", "≥ 85%"))
    else:
        out.append(verdict("Password login ≥ 85% of the argon2id ceiling", None, "not run", "≥ 85%"))

    for sid, label in (("sqlite_refresh_contention", "SQLite"), ("pg_refresh_contention", "PostgreSQL"),
                       ("mysql_refresh_contention", "MariaDB")):
        ok, text = refresh_semantics(results, sid)
        out.append(verdict(f"Refresh under 8-way contention ({label}): 0 5xx, reuseInterval intact", ok, text,
                           "0 5xx; semantics intact"))

    rep = scenario(results, "replicas_refresh")
    if rep:
        one, two = rep["sides"]["one"], rep["sides"]["two"]
        cont = side(results, "replicas_contention", "two")
        errors = two["errors_5xx"] + one["errors_5xx"] + (cont["errors_5xx"] if cont else 0)
        ok = errors == 0 and two["ops_per_s"] >= one["ops_per_s"]
        out.append(verdict("Two replicas on PostgreSQL: 0 5xx, throughput ≥ one", ok,
                           f"{errors} 5xx; {two['ops_per_s']:,.0f} vs {one['ops_per_s']:,.0f} req/s "
                           f"({rep['ratio_two_to_one']}×)", "0 5xx; ≥ 1×"))
    else:
        out.append(verdict("Two replicas on PostgreSQL: 0 5xx, throughput ≥ one", None, "not run", "0 5xx; ≥ 1×"))

    idle = results.get("idle_rss_mb")
    if idle:
        ok = idle["tessera"] <= 20 and idle["tessera"] <= idle["peer"] / 4
        out.append(verdict("Idle RSS ≤ 20 MB and ≤ 1/4 of the peer's", ok,
                           f"{idle['tessera']} MB (peer {idle['peer']} MB, 1/4 = {idle['peer'] / 4:.1f} MB)",
                           "≤ 20 MB, ≤ peer/4"))
    else:
        out.append(verdict("Idle RSS ≤ 20 MB and ≤ 1/4 of the peer's", None, "not run", "≤ 20 MB, ≤ peer/4"))

    out.extend(fapi_verdicts(results))
    out.extend(soak_verdicts(results.get("soak")))

    st = results.get("startup")
    if st:
        out.append(verdict("Start-up ≤ 100 ms to the first JWKS response", st["tessera_warm_ms"] <= 100,
                           f"{st['tessera_warm_ms']} ms on an existing database (fresh database, with key "
                           f"generation: {st['tessera_cold_ms']} ms; peer {st['peer_ms']} ms)", "≤ 100 ms"))
    else:
        out.append(verdict("Start-up ≤ 100 ms to the first JWKS response", None, "not run", "≤ 100 ms"))

    iso = results.get("isolation")
    for key, label in (("client-credentials", "client_credentials"), ("jwks", "JWKS")):
        name = f"{label} p99 during a login flood ≤ 2× idle"
        if iso and key in iso:
            r = iso[key]
            factor = r["flood_p99_ms"] / max(r["idle_p99_ms"], 1e-6)
            out.append(verdict(name, factor <= 2 and r["failed"] == 0,
                               f"{factor:.1f}× ({r['flood_p99_ms']:.2f} vs {r['idle_p99_ms']:.2f} ms; "
                               f"{r['flood_logins_per_s']} logins/s)", "≤ 2×"))
        else:
            out.append(verdict(name, None, "not run", "≤ 2×"))
    return out


def cpu_us(s):
    """Server CPU per request, in µs: cores busy over requests per second."""
    return s["server_cpu"] / s["ops_per_s"] * 1e6 if s and s["ops_per_s"] > 0 else None


def fapi_verdicts(results):
    """Each FAPI path's server CPU per request against the plain path's plus one ES256
    verification (criterion's jwt/verify/ES256) per extra JWT, plus 10%. The figure beside it
    also allows each JWT's jti claim (criterion's storage/claim_jwt_id on a SQLite file), the
    replay cache the same paths must write."""
    out = []
    verify = micro_us(results, "jwt/verify/ES256")
    claim = micro_us(results, "storage/claim_jwt_id/sqlite-file")
    for sid, label in (("fapi_par", "PAR with private_key_jwt"), ("fapi_token", "Token with private_key_jwt + DPoP"),
                       ("fapi_userinfo", "/userinfo with DPoP")):
        name = f"{label}: CPU/request ≤ 1.1 × (plain + its signature checks)"
        entry = scenario(results, sid)
        if not entry or verify is None:
            out.append(verdict(name, None, "not run" if not entry else "no criterion figure (group micro)", "≤ 1.1×"))
            continue
        plain, fapi = cpu_us(entry["sides"]["plain"]), cpu_us(entry["sides"]["fapi"])
        if plain is None or fapi is None:
            out.append(verdict(name, None, "no throughput", "≤ 1.1×"))
            continue
        jwts = entry.get("extra_jwts", 1)
        allowed = plain + jwts * verify
        ok = fapi <= 1.1 * allowed and entry["sides"]["fapi"]["failed"] == 0
        with_claims = (f"; with {jwts} × {claim:.0f} µs jti claim: {fapi / (allowed + jwts * claim):.2f}×"
                       if claim else "")
        out.append(verdict(name, ok, f"{fapi / allowed:.2f}× ({fapi:.0f} µs vs plain {plain:.0f} µs + "
                                     f"{jwts} × {verify:.0f} µs ES256 verify{with_claims})", "≤ 1.1×"))
    return out


def soak_verdicts(soak):
    names = ("Soak: RSS flat", "Soak: auth-request table bounded")
    if not soak or len(soak.get("samples", [])) < 8:
        return [verdict(n, None, "not run (skipped by --quick or too short)", "flat / bounded") for n in names]
    samples = soak["samples"]
    q = len(samples) // 4
    early = [s["rss_mb"] for s in samples[q:2 * q]]
    late = [s["rss_mb"] for s in samples[3 * q:]]
    growth = (sum(late) / len(late)) / max(sum(early) / len(early), 1e-6) - 1
    rss = verdict(names[0], growth <= 0.10, f"{growth:+.0%} from the 2nd to the last quarter "
                  f"(peak {soak['peak_rss_mb']} MB)", "≤ +10%")
    counts = [s["auth_requests"] for s in samples if s["auth_requests"] is not None]
    bound = soak["abandon_rate"] * (soak["auth_request_lifetime_s"] + soak["gc_interval_s"]) * 1.2
    if soak["seconds"] < soak["gc_interval_s"] * 1.5:
        table = verdict(names[1], None, f"max {max(counts, default=0)} rows; soak shorter than 1.5 GC intervals",
                        f"≤ {bound:.0f} rows")
    else:
        table = verdict(names[1], max(counts, default=0) <= bound,
                        f"max {max(counts, default=0)} rows, last {counts[-1] if counts else 0}", f"≤ {bound:.0f} rows")
    return [rss, table]


# --- markdown ------------------------------------------------------------------------------

def fmt(v, digits=0):
    return "–" if v is None else f"{v:,.{digits}f}"


def markdown(results):
    m = results["machine"]
    lines = ["# Tessera benchmark results", ""]
    if results.get("note"):
        lines += [f"> **{results['note']}**", ""]
    lines += [
        f"- Run: {results['started']} ({results['mode']} mode, {results['wall_seconds']} s), commit `{results['git']}`",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, Linux {m['kernel']} "
        f"(load average at start {' '.join(m['loadavg_at_start'])}); {m['rustc']}; Node {m['node']}"
        + (f"; CPU 0 stolen by the hypervisor during the run: {m['server_cpu_steal']:.1%}"
           if "server_cpu_steal" in m else ""),
        "- Server pinned to CPU 0 (`taskset -c 0`), load generator to CPU 1 (bench/loadgen; `wrk` for the"
        " discovery and JWKS GETs); Tessera on SQLite unless stated;"
        " the peer is oidc-provider (bench/peer). Rounds alternate Tessera and peer (A B A B).",
    ]
    for part in results.get("partial_runs", []):
        lines.append(f"- Groups `{part['groups']}` measured again later: {part['started']} ({part['mode']} mode), "
                     f"commit `{part['git']}` (`bench/run --only {part['groups']} --merge`)")
    lines += [
        "- Regenerate: `bench/run` (full) or `bench/run --quick`. Figures: bench/results/latest.json;"
        " chart: bench/results/latest.svg. Flamegraphs are not kept: `bench/profile <scenario>` writes"
        " one to bench/profiles/<scenario>.svg.", "",
        "## Targets", "", "| target | measured | goal | verdict |", "| --- | --- | --- | --- |",
    ]
    for t in results.get("targets", []):
        mark = {"met": "✅ met", "NOT MET": "❌ not met"}.get(t["verdict"], "– n/a")
        lines.append(f"| {t['target']} | {t['measured']} | {t['goal']} | {mark} |")
    lines += ["", "## Scenarios", "",
              "Server CPU is the share of one core the server used during the rounds (near 1.0: the server was"
              " the limit; well below: the load generator or the machine was). Steal is the share of CPU 0"
              " the hypervisor gave to other guests meanwhile (/proc/stat): time the server could not run.", "",
              "| scenario | side | ops/s | p50 ms | p99 ms | failed (5xx) | RSS load / max MB | server CPU "
              "| steal | Tessera/peer |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in results.get("scenarios", []):
        for i, (name, r) in enumerate(s["sides"].items()):
            ratio = s.get("ratio", s.get("ratio_two_to_one"))
            ratio_text = (f"{ratio}×" if ratio is not None else "") if i == 0 else ""
            title = f"{s['title']} ({s['unit']})" if i == 0 else ""
            lines.append(f"| {title} | {name} | {fmt(r['ops_per_s'], 1)} | {fmt(r['p50_ms'], 2)} | "
                         f"{fmt(r['p99_ms'], 2)} | {r['failed']} ({r['errors_5xx']}) | "
                         f"{fmt(r.get('rss_load_mb'), 1)} / {fmt(r.get('rss_max_mb'), 1)} | "
                         f"{fmt(r.get('server_cpu'), 2)} | {fmt(r.get('steal'), 2)} | {ratio_text} |")
    lines += by_storage(results)
    st, idle, peak = results.get("startup"), results.get("idle_rss_mb"), results.get("peak_rss_mb")
    if st or idle:
        lines += ["", "## Start-up and memory", "", "| | Tessera | peer |", "| --- | ---: | ---: |"]
        if st:
            lines.append(f"| start-up, exec → first JWKS 200 (ms) | {st['tessera_warm_ms']} (fresh database: "
                         f"{st['tessera_cold_ms']}) | {st['peer_ms']} |")
        if idle:
            lines.append(f"| idle RSS (MB) | {idle['tessera']} | {idle['peer']} |")
        if peak:
            lines.append(f"| peak RSS over the compare + SQLite scenarios (MB) | {peak.get('tessera')} | "
                         f"{peak.get('peer', '–')} |")
    iso = results.get("isolation")
    if iso:
        lines += ["", "## Requests during a login flood (2 workers, 8 workers logging in)", "",
                  "| request | p50 idle / flood ms | p99 idle / flood ms | logins/s during |",
                  "| --- | ---: | ---: | ---: |"]
        for k, r in iso.items():
            lines.append(f"| {k} | {r['idle_p50_ms']:.2f} / {r['flood_p50_ms']:.2f} | {r['idle_p99_ms']:.2f} / "
                         f"{r['flood_p99_ms']:.2f} | {r['flood_logins_per_s']} |")
    soak = results.get("soak")
    if soak:
        s = soak["samples"]
        lines += ["", "## Soak", "",
                  f"{soak['seconds']:.0f} s: {soak['abandoned']} abandoned auth requests ({soak['abandon_rate']}/s), "
                  f"{soak['logins']} logins (p99 {soak['login_p99_ms']:.0f} ms), {soak['failed']} failures; "
                  f"peak RSS {soak['peak_rss_mb']} MB.", "",
                  "| t (s) | RSS MB | auth_requests rows |", "| ---: | ---: | ---: |"]
        step = max(1, len(s) // 12)
        for sample in s[::step]:
            lines.append(f"| {sample['t']} | {sample['rss_mb']} | {sample['auth_requests']} |")
    micro = results.get("micro")
    if micro:
        lines += ["", "## Micro-benchmarks (criterion, CPU 0)", "", "| benchmark | median µs | mean µs |",
                  "| --- | ---: | ---: |"]
        for k, v in micro.items():
            lines.append(f"| {k} | {v['median_us']:,.2f} | {v['mean_us']:,.2f} |")
    return "\n".join(lines) + "\n"


STORAGES = (("sqlite", "SQLite"), ("pg", "PostgreSQL"), ("mysql", "MariaDB"))
STORAGE_ROWS = (("refresh", "refresh with rotation (req/s)"),
                ("refresh_contention", "8 concurrent refreshes of one token (rounds/s)"),
                ("login", "full browser login, argon2id (flows/s)"))


def by_storage(results):
    """The scenarios run on each storage, side by side: ops/s with p99 ms."""
    rows = []
    for key, title in STORAGE_ROWS:
        cells = []
        for prefix, _ in STORAGES:
            r = side(results, f"{prefix}_{key}")
            cells.append(f"{r['ops_per_s']:,.1f} (p99 {r['p99_ms']:.1f} ms)" if r else "–")
        if any(c != "–" for c in cells):
            rows.append(f"| {title} | " + " | ".join(cells) + " |")
    if not rows:
        return []
    return ["", "## By storage (one server on CPU 0, ops/s and p99)", "",
            "| scenario | " + " | ".join(name for _, name in STORAGES) + " |",
            "| --- |" + " ---: |" * len(STORAGES)] + rows


# --- SVG -----------------------------------------------------------------------------------

def svg(results):
    """Horizontal bars per compared scenario: Tessera and the peer, scaled to the pair's
    larger figure, labelled with req/s and the ratio."""
    rows = [s for s in results.get("scenarios", []) if "ratio" in s]
    width, left, bar_w, row_h = 760, 260, 360, 46
    height = 60 + row_h * max(len(rows), 1) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="10" y="20" font-size="14" font-weight="bold">Tessera vs oidc-provider, requests/s '
           f'({html.escape(results.get("mode", ""))} run, {html.escape(results.get("started", ""))})</text>',
           '<rect x="10" y="32" width="12" height="10" fill="#2b6cb0"/><text x="26" y="41">Tessera</text>',
           '<rect x="90" y="32" width="12" height="10" fill="#a0aec0"/><text x="106" y="41">peer</text>']
    for i, s in enumerate(rows):
        y = 60 + i * row_h
        t, p = s["sides"]["tessera"]["ops_per_s"], s["sides"]["peer"]["ops_per_s"]
        top = max(t, p, 1e-9)
        out.append(f'<text x="10" y="{y + 18}">{html.escape(s["title"])}</text>')
        for j, (value, color) in enumerate(((t, "#2b6cb0"), (p, "#a0aec0"))):
            w = max(1, bar_w * value / top)
            out.append(f'<rect x="{left}" y="{y + j * 16}" width="{w:.0f}" height="14" fill="{color}"/>')
            out.append(f'<text x="{left + w + 6:.0f}" y="{y + j * 16 + 11}">{value:,.0f}</text>')
        out.append(f'<text x="{width - 10}" y="{y + 18}" text-anchor="end" font-weight="bold">{s["ratio"]}×</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
