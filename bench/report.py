"""Turn ``bench/results/*.json`` into one table of ratios, a chart and README tables.

``bench/run_all.py`` (``make bench``) calls it after measuring; run it alone to
redraw from the last figures: ``.venv/bin/python bench/report.py``.

Writes ``bench/results/summary.json`` (every target, its figure and whether it was
met), ``bench/results/bench.png`` (the chart) and ``bench/results/benchmarks.md``
(the README's tables, each under the command that produced it).
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT

SECTIONS = (
    "client_overhead",
    "session_overhead",
    "auth_check",
    "ssr_load",
    "aggregation",
    "memory",
    "shared_store",
    "flask_overhead",
    "django_asgi",
    "faults",
    "live_relay",
)

#: Section 3's references without pb-ssr (dashed in the charts, never a target):
#: what the cheapest Python hop, and a page written by hand, reach on this machine.
SSR_FLOORS = {
    "relay": "relay, bytes (floor)",
    "relay-parse": "relay + JSON (floor)",
    "flask-floor": "Flask by hand (floor)",
    "django-floor": "Django WSGI by hand (floor)",
    "django-floor-asgi": "Django ASGI by hand (floor)",
}
#: Section 3's target: each pb-ssr page's req/s over its hand-written floor's.
SSR_TARGET = 0.97


@dataclass
class Check:
    section: str
    measure: str
    value: str
    target: str
    met: bool
    command: str


def load() -> dict[str, dict[str, Any]]:
    out = {}
    for name in SECTIONS:
        path = RESULTS / f"{name}.json"
        if path.exists():
            out[name] = json.loads(path.read_text())
    return out


def checks(r: dict[str, dict[str, Any]]) -> list[Check]:
    out: list[Check] = []
    if "client_overhead" in r:
        c = r["client_overhead"]
        q = c["ratios"]
        cmd = c["command"]
        out += [
            Check(
                "1 client",
                "sync pb-ssr / pooled httpx",
                f"{q['sync_pb_ssr_over_floor']:.2f}",
                "<= 1.15",
                q["sync_pb_ssr_over_floor"] <= 1.15,
                cmd,
            ),
            Check(
                "1 client",
                "async pb-ssr / pooled httpx",
                f"{q['async_pb_ssr_over_floor']:.2f}",
                "<= 1.15",
                q["async_pb_ssr_over_floor"] <= 1.15,
                cmd,
            ),
            Check(
                "1 client",
                "SDK per request / pb-ssr",
                f"{q['sdk_per_request_over_pb_ssr']:.1f}x",
                ">= 10x",
                q["sdk_per_request_over_pb_ssr"] >= 10,
                cmd,
            ),
        ]
    if "session_overhead" in r:
        s = r["session_overhead"]
        out.append(
            Check(
                "1b session",
                "pb-ssr session / Flask session",
                f"{s['ratio_pb_ssr_over_flask']:.2f}",
                "<= 2.0",
                s["ratio_pb_ssr_over_flask"] <= 2.0,
                s["command"],
            )
        )
    if "auth_check" in r:
        a = r["auth_check"]
        calls = a["auth_refresh_per_views"]["pb_ssr"]
        ttl = a["ttl_phase"]
        cmd = a["command"]
        out += [
            Check(
                "2 auth check",
                "pb-ssr page / no-check page",
                f"{a['ratios_to_no_check']['pb_ssr']:.2f}",
                "<= 1.10",
                a["ratios_to_no_check"]["pb_ssr"] <= 1.10,
                cmd,
            ),
            Check(
                "2 auth check",
                f"auth-refresh per {calls['views']} views (code/PB log)",
                f"{calls['counted']}/{calls['pocketbase_log']}",
                "1/1",
                calls["counted"] == 1 and calls["pocketbase_log"] == 1,
                cmd,
            ),
            Check(
                "2 auth check",
                f"auth-refresh, TTL 1 s for {ttl['seconds']:.1f} s (code/PB log)",
                f"{ttl['validator_upstream_calls']}/{ttl['pocketbase_logged_auth_refresh']}",
                f"one per started second (<= {ttl['expected_at_most']})",
                int(ttl["seconds"]) <= ttl["validator_upstream_calls"] <= ttl["expected_at_most"]
                and ttl["pocketbase_logged_auth_refresh"] == ttl["validator_upstream_calls"],
                cmd,
            ),
        ]
    if "ssr_load" in r:
        s = r["ssr_load"]
        for name, per_level in s["per_level"].items():
            if name == "direct" or name in SSR_FLOORS:
                continue
            for level, row in sorted(per_level.items(), key=lambda kv: int(kv[0])):
                vs = row.get("vs_floor")
                if vs is None:
                    out.append(
                        Check(
                            "3 SSR page",
                            f"{name} req/s / its floor, c={level}",
                            "floor not measured",
                            f">= {SSR_TARGET:.2f}, 0 errors",
                            False,
                            s["command"],
                        )
                    )
                    continue
                errors = row["errors"] + vs["floor_errors"]
                out.append(
                    Check(
                        "3 SSR page",
                        f"{name} req/s / {vs['floor']}, c={level}",
                        f"{vs['rps']:.3f} ({errors} errors)",
                        f">= {SSR_TARGET:.2f}, 0 errors",
                        vs["rps"] >= SSR_TARGET and errors == 0,
                        s["command"],
                    )
                )
    if "aggregation" in r:
        g = r["aggregation"]
        q = g["ratios_to_slowest_single"]
        for name, against in (("thread_pool", "query"), ("async_gather", "async query")):
            out.append(
                Check(
                    "4 aggregation",
                    f"K={g['k']} {name} / slowest {against}",
                    f"{q[name]:.2f}",
                    "<= 1.30",
                    q[name] <= 1.3,
                    g["command"],
                )
            )
    if "memory" in r:
        m = r["memory"]
        for w in m["workers"].values():
            out.append(
                Check(
                    "5 memory",
                    f"cache len, VALIDATE_CACHE_SIZE={w['cache_size_setting']}",
                    str(w["cache_len"]),
                    f"<= {w['cache_size_setting']}",
                    w["cache_len"] <= w["cache_size_setting"],
                    m["command"],
                )
            )
            growth = (w["rss_after_all_kib"] - w["rss_after_one_view_kib"]) / 1024
            out.append(
                Check(
                    "5 memory",
                    f"RSS growth over {w['views']} views, size {w['cache_size_setting']}",
                    f"{growth:.1f} MiB",
                    "<= 10 MiB",
                    growth <= 10,
                    m["command"],
                )
            )
    if "shared_store" in r:
        st = r["shared_store"]
        cmd = st["command"]
        for run in st["cluster"]:
            shape = f"{run['instances']}x{run['workers_per_instance']} workers"
            if run["store"] == "redis":
                out.append(
                    Check(
                        "6 store",
                        f"redis: auth-refresh, {shape}, {run['ttl_periods']} TTL periods",
                        f"{run['auth_refresh_code']}/{run['auth_refresh_pocketbase_log']}",
                        f"<= {run['allowed_at_most']}, code = log",
                        run["auth_refresh_pocketbase_log"] <= run["allowed_at_most"]
                        and run["auth_refresh_code"] == run["auth_refresh_pocketbase_log"]
                        and run["errors"] == 0,
                        cmd,
                    )
                )
            else:
                out.append(
                    Check(
                        "6 store",
                        f"memory (reference): auth-refresh, {shape}",
                        f"{run['auth_refresh_per_ttl_period']:.1f} per TTL",
                        "information",
                        run["errors"] == 0,
                        cmd,
                    )
                )
        lat = st["latency"]
        out.append(
            Check(
                "6 store",
                "redis over memory, page view median",
                f"+{lat['added_ms_median']:.3f} ms ({lat['ratio_median']:.2f}x)",
                f"<= +{lat['target_added_ms']} ms",
                lat["added_ms_median"] <= lat["target_added_ms"],
                cmd,
            )
        )
    if "flask_overhead" in r:
        f = r["flask_overhead"]
        out += [
            Check(
                "7 flask",
                "whoami view: pb-ssr / Flask session",
                f"{f['ratio_pb_ssr_over_flask_session']:.2f}",
                f"<= {f['targets']['session']}",
                f["ratio_pb_ssr_over_flask_session"] <= f["targets"]["session"],
                f["command"],
            ),
            Check(
                "7 flask",
                "health view, pb-ssr's share: async def / def",
                f"{f['ratio_async_over_sync']:.2f} (raw {f['ratio_async_over_sync_raw']:.2f}; "
                f"in batches {f.get('ratio_async_over_sync_batched', float('nan')):.2f}, "
                f"by hand {f.get('by_hand_ratio_async_over_sync_batched', float('nan')):.2f})",
                f"<= {f['targets']['async']}",
                f["ratio_async_over_sync"] <= f["targets"]["async"],
                f["command"],
            ),
        ]
    if "django_asgi" in r:
        d = r["django_asgi"]
        out.append(
            Check(
                "8 django asgi",
                f"async view with / without middleware ({d['view_threads']} thread)",
                f"{d['ratio_with_over_without']:.2f}",
                f"<= {d['target']}, 1 thread",
                d["ratio_with_over_without"] <= d["target"] and d["view_threads"] == 1,
                d["command"],
            )
        )
    if "faults" in r:
        f = r["faults"]
        q = f["ratios"]
        d = f["configs"]["pb-ssr defaults"]
        hang = f"{f['hang_s']:g} s hang"
        cmd = f["command"]
        others = sum(c["errors_5xx_other_than_503"] for c in f["configs"].values())
        out += [
            Check(
                "9 faults",
                f"/ (no PocketBase, new visitor) p50 during {hang} / before",
                f"{q['home_hang_p50_over_before']:.2f}",
                "<= 2.0",
                q["home_hang_p50_over_before"] <= 2.0,
                cmd,
            ),
            Check(
                "9 faults",
                f"/notes p99 once the breaker is open ({hang})",
                f"{q['notes_once_open_p99_ms']:.0f} ms ({d['hang']['/notes']['statuses']})",
                "<= 1000 ms (503)",
                q["notes_once_open_p99_ms"] <= 1000,
                cmd,
            ),
            Check(
                "9 faults",
                "recovery after the hang / after a kill + restart",
                f"{q['recovery_s']:.2f} s / {q['recovery_after_restart_s']:.2f} s",
                "<= 1 s",
                q["recovery_s"] <= 1 and q["recovery_after_restart_s"] <= 1,
                cmd,
            ),
            Check(
                "9 faults",
                "responses other than 200/503, every run",
                str(others),
                "0",
                others == 0,
                cmd,
            ),
        ]
    if "live_relay" in r:
        v = r["live_relay"]
        d = v["delay"]
        cmd = v["command"]
        target = v["targets"]["added_p50_ms"]
        out.append(
            Check(
                "10 live relay",
                "event delay added at p50 (relay - direct PocketBase)",
                f"+{d['added_p50_ms']:.2f} ms",
                f"<= +{target:g} ms",
                d["added_p50_ms"] <= target,
                cmd,
            )
        )
        idle_server = v["idle_async"].get("server", "uvicorn")
        for row in v["idle_async"]["rows"]:
            kb = row["kib_per_stream"] * 1.024
            out.append(
                Check(
                    "10 live relay",
                    f"RSS per idle stream, {row['streams']} streams ({idle_server})",
                    f"{kb:.1f} KB",
                    f"< {v['targets']['kb_per_idle_stream']:g} KB",
                    kb < v["targets"]["kb_per_idle_stream"] and row["active"] == row["streams"],
                    cmd,
                )
            )
        for key in ("thread_per_stream", "thread_per_stream_django"):
            if key not in v:
                continue
            t = v[key]
            out.append(
                Check(
                    "10 live relay",
                    f"past the cap ({t['cap']} streams, {t.get('server', 'gunicorn gthread')})",
                    f"{t['past_cap_status']} in {t['past_cap_ms']:.1f} ms",
                    "503 + Retry-After",
                    t["past_cap_status"] == 503 and bool(t["past_cap_retry_after"]),
                    cmd,
                )
            )
    return out


def print_summary(found: list[Check]) -> None:
    print("pb-ssr benchmarks: every target, side by side (medians of interleaved runs)")
    print(f"{'section':<14}{'measure':<50}{'value':>16}  {'target':<30}result")
    for c in found:
        print(
            f"{c.section:<14}{c.measure:<50}{c.value:>16}  "
            f"{c.target:<30}{'met' if c.met else 'MISSED'}"
        )
    commands = sorted({c.command for c in found})
    print("commands: " + "; ".join(commands))


def chart(r: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5), dpi=72)
    fig.suptitle("pb-ssr benchmarks (make bench): medians, 2-core machine, loopback PocketBase")

    ax = axes[0][0]
    if "client_overhead" in r:
        s = r["client_overhead"]["sync"]
        names = [
            ("pb_ssr", "pb-ssr"),
            ("httpx_pooled", "pooled httpx"),
            ("sdk_shared_header", "SDK shared"),
            ("httpx_new", "new httpx.Client"),
            ("sdk_per_request", "SDK per request"),
        ]
        values = [s[k]["median_ms"] for k, _ in names]
        ax.barh([label for _, label in names], values, color=["C0", "C7", "C1", "C7", "C3"])
        ax.set_xscale("log")
        ax.set_xticks([0.5, 1, 2, 5, 10, 20, 50], ["0.5", "1", "2", "5", "10", "20", "50"])
        ax.minorticks_off()
        ax.set_xlabel("ms per request (log)")
        ax.set_title("1. list of 10, one request")
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:.2f}", va="center", fontsize=8)

    ax = axes[0][1]
    if "auth_check" in r:
        a = r["auth_check"]
        keys = [("no_check", "no check"), ("pb_ssr", "pb-ssr"), ("js_sdk_recipe", "JS SDK recipe")]
        values = [a["latency"][k]["median_ms"] for k, _ in keys]
        calls = [a["auth_refresh_per_views"][k]["counted"] for k, _ in keys]
        ax.bar([label for _, label in keys], values, color=["C7", "C0", "C3"])
        ax.set_ylabel("ms per page view")
        ax.set_title("2. auth check per page (auth-refresh calls / 1000 views)")
        for i, (v, n) in enumerate(zip(values, calls, strict=True)):
            ax.text(i, v, f"{v:.2f} ms\n{n} calls", ha="center", va="bottom", fontsize=8)
        ax.set_ylim(0, max(values) * 1.35)

    ax = axes[0][2]
    if "ssr_load" in r:
        s = r["ssr_load"]
        labels = {"direct": "PocketBase direct", **SSR_FLOORS}
        for name, per_level in s["per_level"].items():
            levels = sorted(int(c) for c in per_level)
            ax.plot(
                levels,
                [per_level[str(c)]["rps_median"] for c in levels],
                marker="o",
                label=labels.get(name, f"{name} (pb-ssr)"),
                linestyle="--" if name in labels else "-",
            )
        ax.set_xscale("log", base=2)
        ax.set_xticks(levels, [str(c) for c in levels])
        ax.minorticks_off()
        ax.set_xlabel("concurrent users")
        ax.set_ylabel("requests/s")
        ax.set_title("3. chat page under load (ab)")
        top = max(row["rps_median"] for per in s["per_level"].values() for row in per.values())
        ax.set_ylim(0, top * 1.9)
        ax.legend(fontsize=6, loc="upper left")

    ax = axes[1][0]
    if "ssr_load" in r:
        s = r["ssr_load"]
        for name, per_level in s["per_level"].items():
            levels = sorted(int(c) for c in per_level)
            if "vs_floor" not in per_level[str(levels[0])]:
                continue
            floor = per_level[str(levels[0])]["vs_floor"]["floor"]
            ax.plot(
                levels,
                [per_level[str(c)]["vs_floor"]["rps"] for c in levels],
                marker="o",
                label=f"{name} / {floor}",
            )
        ax.axhline(SSR_TARGET, color="C3", linewidth=1, linestyle=":", label=f"target {SSR_TARGET}")
        ax.axhline(1.0, color="C7", linewidth=1, linestyle="--")
        ax.set_xscale("log", base=2)
        ax.set_xticks(levels, [str(c) for c in levels])
        ax.minorticks_off()
        shown = [line.get_ydata() for line in ax.get_lines()]
        low = min([0.85, *(min(y) - 0.03 for y in shown)])
        high = max([1.15, *(max(y) + 0.03 for y in shown)])
        ax.set_ylim(low, high)
        ax.set_xlabel("concurrent users")
        ax.set_ylabel("req/s / the same page by hand")
        ax.set_title("3. pb-ssr page / hand-written page, same server")
        ax.legend(fontsize=6, loc="lower left")

    ax = axes[1][1]
    if "aggregation" in r:
        g = r["aggregation"]
        keys = [k for k in g["latency"] if k.startswith("q")] + [
            "sequential",
            "thread_pool",
            "async_gather",
        ]
        values = [g["latency"][k]["median_ms"] for k in keys]
        colors = ["C7"] * (len(keys) - 3) + ["C3", "C0", "C0"]
        ax.barh(keys, values, color=colors)
        ax.set_xlabel("ms per page")
        ax.set_title(f"4. stats page, K={g['k']} queries")
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:.1f}", va="center", fontsize=8)

    ax = axes[1][2]
    if "memory" in r:
        m = r["memory"]
        labels, idle, warm, after = [], [], [], []
        for w in m["workers"].values():
            labels.append(f"cache size\n{w['cache_size_setting']}")
            idle.append(w["rss_idle_kib"] / 1024)
            warm.append(w["rss_after_one_view_kib"] / 1024)
            after.append(w["rss_after_all_kib"] / 1024)
        x = range(len(labels))
        width = 0.25
        ax.bar([i - width for i in x], idle, width, label="idle", color="C7")
        ax.bar(list(x), warm, width, label="after 1 view", color="C1")
        ax.bar(
            [i + width for i in x],
            after,
            width,
            label=f"after {m['users'] * m['views_per_user']} views",
            color="C0",
        )
        ax.set_xticks(list(x), labels)
        ax.set_ylabel("RSS MiB")
        ax.set_title(f"5. worker memory, {m['users']} users")
        ax.legend(fontsize=7, loc="lower right")

    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def expected_calls(w: dict[str, Any], ttl: float = 60.0) -> str:
    """Auth-refresh calls to expect: one per user per started TTL period, or one per
    view when the cache holds fewer tokens than the round-robin set of users (each
    token is evicted before its user comes back)."""
    if w["cache_size_setting"] < w["users"]:
        return f"{w['views']} (cache < users)"
    periods = math.ceil(w["seconds"] / ttl)
    return f"{w['users'] * periods} ({w['users']} users x {periods} TTL periods)"


def markdown(r: dict[str, dict[str, Any]], found: list[Check]) -> str:
    lines: list[str] = []
    add = lines.append
    add("| section | measure | value | target | result | command |")
    add("|---|---|---|---|---|---|")
    for c in found:
        add(
            f"| {c.section} | {c.measure} | {c.value} | "
            f"{c.target} | {'met' if c.met else '**missed**'} | `{c.command}` |"
        )
    add("")
    if "client_overhead" in r:
        c = r["client_overhead"]
        add(f"`{c['command']}` ({c['rounds']} interleaved rounds):")
        add("")
        add("| case | median ms | min-max ms |")
        add("|---|---|---|")
        rows = [
            ("sync (a) pb-ssr client per request", c["sync"]["pb_ssr"]),
            ("sync (b) pooled httpx (floor)", c["sync"]["httpx_pooled"]),
            ("sync (c) new httpx.Client per request", c["sync"]["httpx_new"]),
            ("sync (d) `pocketbase` SDK per request", c["sync"]["sdk_per_request"]),
            ("sync (e) `pocketbase` SDK shared, per-call header", c["sync"]["sdk_shared_header"]),
            (
                "sync (f) pooled httpx in the SDK's process (control)",
                c["sync"]["httpx_pooled_peer"],
            ),
            ("async (a) pb-ssr client per request", c["async"]["pb_ssr"]),
            ("async (b) pooled httpx (floor)", c["async"]["httpx_pooled"]),
        ]
        for label, row in rows:
            add(f"| {label} | {row['median_ms']:.3f} | {row['min_ms']:.3f}-{row['max_ms']:.3f} |")
        add("")
    if "session_overhead" in r:
        s = r["session_overhead"]
        add(f"`{s['command']}` ({s['rounds']} interleaved rounds, µs):")
        add("")
        add("| case | median µs | min-max µs |")
        add("|---|---|---|")
        for key, label in (
            ("pb_ssr", "(a) pb-ssr open + user() + finalize()"),
            ("flask", "(b) Flask open_session, same payload"),
            ("flask_loads", "(c) Flask serializer.loads only"),
        ):
            row = s["overhead"][key]
            add(
                f"| {label} | {row['median_ms'] * 1000:.1f} | "
                f"{row['min_ms'] * 1000:.1f}-{row['max_ms'] * 1000:.1f} |"
            )
        views = s["page_views"]
        add("")
        add(
            f"auth-refresh per 1,000 page views of one user: sequential "
            f"{views['sequential']['validator_upstream_calls']} (PB log "
            f"{views['sequential']['pocketbase_logged_auth_refresh']}), 16 threads on a cold cache "
            f"{views['threads_cold']['validator_upstream_calls']} (PB log "
            f"{views['threads_cold']['pocketbase_logged_auth_refresh']})."
        )
        add("")
    if "auth_check" in r:
        a = r["auth_check"]
        add(
            f"`{a['command']}` ({a['auth_refresh_per_views']['pb_ssr']['views']} "
            "interleaved views per case, "
            f"VALIDATE_TTL {a['validate_ttl']:g} s):"
        )
        add("")
        add("| case | median ms | min-max ms | x no check | auth-refresh (code / PB log) |")
        add("|---|---|---|---|---|")
        for key, label in (
            ("no_check", "(a) no check at all"),
            ("pb_ssr", "(b) pb-ssr cached, single-flight validation"),
            ("js_sdk_recipe", "(c) JS SDK SSR recipe (auth-refresh every request)"),
        ):
            row = a["latency"][key]
            calls = a["auth_refresh_per_views"][key]
            add(
                f"| {label} | {row['median_ms']:.3f} | {row['min_ms']:.2f}-{row['max_ms']:.2f} | "
                f"{a['ratios_to_no_check'][key]:.2f} | "
                f"{calls['counted']} / {calls['pocketbase_log']} |"
            )
        t = a["ttl_phase"]
        add("")
        add(
            f"With VALIDATE_TTL = 1 s, {t['views']} back-to-back "
            f"views over {t['seconds']:.1f} s made "
            f"{t['validator_upstream_calls']} auth-refresh "
            f"calls ({t['pocketbase_logged_auth_refresh']} "
            "in PocketBase's log): one per TTL period."
        )
        add("")
    if "ssr_load" in r:
        s = r["ssr_load"]
        add(
            f"`{s['command']}` (load: {s['load_generator']}; "
            f"{s['rounds']} rounds per level, medians; "
            f"app servers {s['workers']} workers x {s['threads']} threads):"
        )
        add("")
        add(
            "| target | users | req/s (min-max) | req/s / floor | p50 ms | p99 "
            "ms | req/s / PB | p50 / PB | p99 / PB | errors "
            "| CPU ms/request (PB + app) |"
        )
        add("|---|---|---|---|---|---|---|---|---|---|---|")
        for name, per_level in s["per_level"].items():
            for level, row in sorted(per_level.items(), key=lambda kv: int(kv[0])):
                cpu = row["cpu_ms_per_request"]
                cpu_text = f"{cpu['pocketbase']:.2f}" + (
                    f" + {cpu['app']:.2f}" if "app" in cpu else ""
                )
                q = row["ratio"]
                vs = row.get("vs_floor")
                vs_text = f"**{vs['rps']:.3f}** ({vs['floor']})" if vs else ""
                add(
                    f"| {name} | {level} | {row['rps_median']:.0f} "
                    f"({row['rps_min']:.0f}-{row['rps_max']:.0f}) | {vs_text} | "
                    f"{row['p50_ms']:.1f} | {row['p99_ms']:.1f} "
                    f"| {q['rps']:.2f} | {q['p50']:.2f} | "
                    f"{q['p99']:.2f} | {row['errors']} | {cpu_text} |"
                )
        for name, why in s.get("skipped", {}).items():
            add(f"\n{name}: skipped ({why}).")
        if "page_cpu_ms" in s:
            p = s["page_cpu_ms"]
            add("")
            add(
                "Where the Flask page's CPU goes (thread CPU per view, in-process, medians): "
                f"whole page {p['page']:.2f} ms = pb-ssr session "
                f"{p['session']:.2f} + list of 50 via pb-ssr "
                f"{p['get_list']:.2f} (bare httpx + json {p['httpx_floor']:.2f}) + Jinja render "
                f"{p['render']:.2f} + Flask/werkzeug "
                f"{p['flask_rest']:.2f}; the same page by hand without "
                f"pb-ssr: {p.get('floor_page', float('nan')):.2f} ms."
            )
        django_cpu = s.get("django_page_cpu_ms", {})
        pairs = [
            (page, floor)
            for page, floor in (
                ("django-gunicorn", "django-floor"),
                ("django-uvicorn", "django-floor-asgi"),
            )
            if page in django_cpu and floor in django_cpu
        ]
        if pairs:
            add("")
            add(
                "The Django pages in-process (process CPU per view through Django's own "
                "handler, medians of interleaved batches): "
                + "; ".join(
                    f"{page} {django_cpu[page]:.2f} ms, {floor} {django_cpu[floor]:.2f} ms "
                    f"({(django_cpu[page] - django_cpu[floor]) * 1000:+.0f} µs)"
                    for page, floor in pairs
                )
                + "."
            )
        add("")
    if "aggregation" in r:
        g = r["aggregation"]
        add(
            f"`{g['command']}` (K={g['k']} queries, {g['messages']} "
            f"messages, {g['rounds']} interleaved rounds):"
        )
        add("")
        add("| case | median ms | min-max ms | x slowest single query (async rows: async query) |")
        add("|---|---|---|---|")
        order = ["sequential", "thread_pool", "async_gather", "example_compute_stats"]
        order.append("example_acompute_stats")
        singles = sorted(k for k in g["latency"] if k not in order)
        singles.sort(key=lambda k: k.startswith("async_"))
        for name in [*singles, *order]:
            row = g["latency"][name]
            add(
                f"| {name} | {row['median_ms']:.2f} | {row['min_ms']:.1f}-{row['max_ms']:.1f} | "
                f"{g['ratios_to_slowest_single'][name]:.2f} |"
            )
        add("")
    if "memory" in r:
        m = r["memory"]
        add(f"`{m['command']}` ({m['users']} users x {m['views_per_user']} views, VmRSS MiB):")
        add("")
        add(
            "| worker | idle | after 1 view | after all views "
            "| cache len | auth-refresh calls | expected calls | views/s |"
        )
        add("|---|---|---|---|---|---|---|---|")
        for w in m["workers"].values():
            add(
                f"| VALIDATE_CACHE_SIZE={w['cache_size_setting']} "
                f"| {w['rss_idle_kib'] / 1024:.1f} | "
                f"{w['rss_after_one_view_kib'] / 1024:.1f} | {w['rss_after_all_kib'] / 1024:.1f} | "
                f"{w['cache_len']} | {w['auth_refresh_calls']} | {expected_calls(w)} | "
                f"{w['views'] / w['seconds']:.0f} |"
            )
        add("")
    if "faults" in r:
        f = r["faults"]
        t = f["timeouts"]
        add(
            f"`{f['command']}` (gunicorn gthread, {f['threads']} threads; {f['clients']} "
            f"clients alternating `/` and `/notes`, plus a new visitor on `/` every 0.1 s, whose "
            f"figures the `/` columns show; PocketBase frozen or down {f['hang_s']:g} s):"
        )
        add("")
        add(
            "| configuration | fault | `/` p50 before / during | `/` p99 before / during "
            "| `/notes` p50 / p99 during | `/notes` p99 once open | open after | req/s "
            "before / during | recovery |"
        )
        add("|---|---|---|---|---|---|---|---|---|")
        visitor = "/ (new visitor)"
        for name, c in f["configs"].items():
            b, h, o = c["before"], c["hang"], c["notes_once_open"]
            opened = c["breaker_open_after_s"]
            add(
                f"| {name} | {c['fault']} "
                f"| {b[visitor]['p50_ms']:.1f} / {h[visitor]['p50_ms']:.1f} ms "
                f"| {b[visitor]['p99_ms']:.1f} / {h[visitor]['p99_ms']:.0f} ms "
                f"| {h['/notes']['p50_ms']:.0f} / {h['/notes']['p99_ms']:.0f} ms "
                f"| {'-' if o is None else format(o['p99_ms'], '.0f') + ' ms'} "
                f"| {'never' if opened is None else format(opened, '.2f') + ' s'} "
                f"| {c['requests_per_s']['before']:.0f} / {c['requests_per_s']['hang']:.0f} "
                f"| {c['recovery_s']:.2f} s |"
            )
        add("")
        tcp = t["tcp_connect_to_pocketbase"]
        add(
            f"Timeout defaults against what was measured: `/notes` (one PocketBase call) "
            f"p99 {t['notes_page_p99_ms_before']:.0f} ms and max "
            f"{t['notes_page_max_ms_before']:.0f} ms under this load, against `TIMEOUT` "
            f"{t['TIMEOUT_s']:g} s; TCP connect to PocketBase p99 {tcp['p99_ms']:.2f} ms, "
            f"max {tcp['max_ms']:.2f} ms, against `CONNECT_TIMEOUT` {t['CONNECT_TIMEOUT_s']:g} s."
        )
        add("")
    if "live_relay" in r:
        v = r["live_relay"]
        d = v["delay"]
        add(
            f"`{v['command']}` (record creation to arrival, {d['events']} records; the relay "
            "through Django's `live_view` under uvicorn, the floor a client of PocketBase's "
            "own `/api/realtime`):"
        )
        add("")
        add("| client | p50 ms | p99 ms |")
        add("|---|---|---|")
        for label, key in (
            ("PocketBase directly (floor)", "direct"),
            ("through the relay", "relay"),
        ):
            add(f"| {label} | {d[key]['p50_ms']:.2f} | {d[key]['p99_ms']:.2f} |")
        add(f"| per-record difference | {d['added']['p50_ms']:.2f} | {d['added']['p99_ms']:.2f} |")
        add("")
        add(
            "| server | streams | RSS per stream | each since the previous count "
            "| threads per stream | PocketBase per client |"
        )
        add("|---|---|---|---|---|---|")
        # PocketBase's RSS does not shrink after the first run: its growth per client
        # is shown for the first server only.
        idle_rows = [
            (v[key].get("server", "uvicorn, async driver"), row, key == "idle_async")
            for key in ("idle_async", "idle_async_only")
            if key in v
            for row in v[key]["rows"]
        ]
        for idle_server, row, with_pocketbase in idle_rows:
            pocketbase = row.get("pocketbase_kib_per_client")
            with_pocketbase = with_pocketbase and pocketbase is not None
            marginal = row.get("marginal_kib_per_stream")
            add(
                f"| {idle_server} | {row['streams']} idle | "
                f"{row['kib_per_stream'] * 1.024:.1f} KB | "
                f"{'-' if marginal is None else f'{marginal * 1.024:.1f} KB'} | "
                f"{row.get('threads_per_stream', 0):.1f} | "
                f"{f'{pocketbase * 1.024:.1f} KB' if with_pocketbase else '-'} |"
            )
        for key in ("thread_per_stream", "thread_per_stream_django"):
            if key not in v:
                continue
            t = v[key]
            add(
                f"| {t.get('server', 'gunicorn gthread, sync driver')} | {t['cap']} (the cap) | "
                f"{t['kib_per_stream'] * 1.024:.1f} KB | - | {t['threads_per_stream']:.1f} | - |"
            )
        add("")
    return "\n".join(lines)


def main() -> int:
    results = load()
    found = checks(results)
    print_summary(found)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summary.json").write_text(
        json.dumps({"checks": [asdict(c) for c in found]}, indent=2) + "\n"
    )
    chart(results, RESULTS / "bench.png")
    (RESULTS / "benchmarks.md").write_text(markdown(results, found) + "\n")
    print(
        f"chart: {(RESULTS / 'bench.png').relative_to(ROOT)}; "
        f"tables: {(RESULTS / 'benchmarks.md').relative_to(ROOT)}"
    )
    return 0 if all(c.met for c in found) else 1


if __name__ == "__main__":
    sys.exit(main())
