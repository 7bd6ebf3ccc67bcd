"""The cluster's figures on the lab, each next to its floor, measured in one run and printed as one table.

    make bench          # or: .venv/bin/python bench/run.py [--steps ...]

LAB_PREFIX, LAB_SUBNET and LAB_STATE_DIR select the lab, as for ``make lab``. The steps, in order:

  floor    both nodes recreated from the image, then the deploy's package set installed by one plain
           ``apt-get install`` on both nodes at once (wall time)
  deploy   both nodes recreated again, then the whole deploy of both (wall time; ratio to the floor)
  noop     the deploy run again on the deployed cluster, next to ``pyinfra <inventory> exec -- true``
  drill    the failover drill (``python -m drill``): each case's longest outage and catch-up time
  lag      replication lag p50/p99 while both nodes take 200 inserts/s (bench/replication_lag.py)
  commit   commit latency on node A as deployed (semi-synchronous), next to A with semi-sync off
  partition  node A drops every packet to and from node B for 10 s under writes on both: time from
           the link's return until both nodes hold every row
  sync     an edit of configuration.properties on node A, timed until node B holds it (several
           samples), next to one ssh round trip of the sync; the original content is restored
  rebuild  node A's database grown to about ``--rebuild-mib`` MiB, node B replaced by a fresh container
           (``python -m lab replace``), then the deploy with ``--data qm_db_resync=node-b`` timed, with
           each step of the rebuild as node B's journal has it; the table is dropped after. The lab's
           data disks must hold the data twice (its binary log too): ``LAB_DATA_DISK_SIZE=4G`` for 1 GiB

``floor`` and ``deploy`` throw away whatever the lab's nodes held (the cluster's secrets and CA on
this machine are kept and reused). Without them (``--steps noop,drill,lag,sync``) the lab must
already be deployed. Every step is bounded in time; a step that fails prints FAIL in its rows and
the run goes on; the exit status is 1 when any row failed. The table is printed as Markdown and
written, with every raw figure, to ``bench.md`` and ``bench.json`` in the lab's state folder.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform as host_platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import replication_lag  # noqa: E402
from lab import containers, docker  # noqa: E402
from operations.phases.base import node_packages  # noqa: E402

INVENTORY = "inventories/lab.py"
STEPS = ["floor", "deploy", "noop", "drill", "lag", "commit", "partition", "sync", "rebuild"]
#: the table the rebuild step fills on node A
REBUILD_TABLE = "queuemetrics.qmha_bench_rebuild"
SYNC_SCRIPT = "/usr/local/sbin/qmha-sync"
INSTALL = {"apt": "apt-get install", "yum": "yum install"}


@dataclass
class Row:
    figure: str
    measured: str
    floor: str = "-"
    ratio: str = "-"
    ok: bool = True


class StepFailed(Exception):
    pass


# ---------------------------------------------------------------- helpers


def machine() -> dict:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), host_platform.machine())
    return {"nproc": os.cpu_count(), "ram_gib": round(mem_kb / 1024 / 1024, 1), "kernel": host_platform.release(),
            "cpu": cpu}


def pyinfra_binary() -> str:
    sibling = Path(sys.executable).with_name("pyinfra")
    return str(sibling) if sibling.exists() else (shutil.which("pyinfra") or "pyinfra")


def child_env(cfg: containers.LabConfig) -> dict:
    """The environment of the deploy and the drill: the lab inventory reads this lab's state file."""
    return {**os.environ, "QMHA_LAB_STATE": str(cfg.state_file)}


def timed(cmd: list[str], cfg: containers.LabConfig, log: Path, timeout: float) -> tuple[float, str]:
    """Run CMD from the project folder; (wall seconds, output). StepFailed on a non-zero exit or timeout."""
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=child_env(cfg), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        log.write_text(str(exc.stdout or "") + str(exc.stderr or ""))
        raise StepFailed(f"`{' '.join(cmd[-3:])}` did not finish within {timeout:.0f} s (log: {log.name})")
    took = time.monotonic() - started
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
        raise StepFailed(f"exit {proc.returncode} after {took:.1f} s (log: {log.name}): {tail[:300]}")
    return took, proc.stdout + proc.stderr


def grand_total(output: str) -> dict:
    """pyinfra's closing summary line: operations, changed, errors, unchanged (host-operations)."""
    m = re.search(r"Grand total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", output)
    if not m:
        return {}
    as_int = [0 if v == "-" else int(v) for v in m.groups()]
    return dict(zip(("operations", "changed", "errors", "unchanged"), as_int))


def in_node(container: str, script: str, timeout: float = 60, stdin: bytes | None = None) -> bytes:
    proc = subprocess.run([docker.docker_binary(), "exec", "-i", container, "sh", "-c", script], input=stdin,
                          capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise StepFailed(f"{container}: `{script[:80]}` failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def recreate_nodes(cfg: containers.LabConfig) -> None:
    """Both node containers removed and made again from the image (the lab's other containers stay)."""
    for node in cfg.nodes:
        docker.run("rm", "-f", "-v", cfg.container(node.name), check=False, timeout=120)
    containers.up(cfg)


def seconds(value: float) -> str:
    return f"{value:.1f} s" if value >= 1 else f"{value * 1000:.0f} ms"


def ratio(measured: float, floor: float) -> str:
    return f"{measured / floor:.1f}x" if floor > 0 else "-"


# ---------------------------------------------------------------- steps


def package_set(cfg: containers.LabConfig) -> tuple[str, list[list[str]]]:
    """(package manager, package groups in install order) of everything the deploy installs."""
    p = cfg.platform
    packages = node_packages(p, p.tomcat, "standin", bool(cfg.floating), selinux_on=False)
    groups = [packages, [n for n in p.nginx.packages if n not in packages]]  # nginx after EPEL where it needs it
    return p.package_manager, [g for g in groups if g]


def step_floor(cfg, figures, args) -> None:
    manager, groups = package_set(cfg)
    recreate_nodes(cfg)
    if manager == "apt":
        script = "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && " + " && ".join(
            f"apt-get install -y -qq {' '.join(g)} >/dev/null" for g in groups)
    else:
        script = " && ".join(f"yum install -y -q {' '.join(g)} >/dev/null" for g in groups)
    started = time.monotonic()
    procs = [subprocess.Popen([docker.docker_binary(), "exec", cfg.container(n.name), "sh", "-c", script],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for n in cfg.nodes]
    outputs = []
    for proc in procs:
        try:
            outputs.append(proc.communicate(timeout=max(1.0, args.install_timeout - (time.monotonic() - started)))[0])
        except subprocess.TimeoutExpired:
            for other in procs:
                other.kill()
            raise StepFailed(f"plain install did not finish within {args.install_timeout:.0f} s")
    took = time.monotonic() - started
    for node, proc, out in zip(cfg.nodes, procs, outputs):
        if proc.returncode != 0:
            raise StepFailed(f"{node.name}: {script} -> exit {proc.returncode}: {out.strip()[-300:]}")
    figures["floor"] = {"seconds": round(took, 1), "package_manager": manager,
                        "packages": [p for g in groups for p in g], "command": script}
    print(f"  plain install of {sum(map(len, groups))} packages on both nodes at once: {took:.1f} s", flush=True)


def commands_per_node(output: str) -> dict[str, int]:
    """SSH commands each node ran in a ``--debug`` run (facts and operations; uploads not counted)."""
    counts: dict[str, int] = {}
    for name in re.findall(r"Running command on (\S+): ", output):
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def step_deploy(cfg, figures, args) -> None:
    recreate_nodes(cfg)
    # --debug only adds log lines (to count the commands), next to a minute of work
    took, out = timed([pyinfra_binary(), "-y", "--debug", INVENTORY, "deploy.py"], cfg,
                      cfg.state_dir / "bench-deploy.log", args.deploy_timeout)
    figures["deploy"] = {"seconds": round(took, 1), **grand_total(out), "commands": commands_per_node(out)}
    print(f"  fresh deploy of both nodes: {took:.1f} s, commands per node {figures['deploy']['commands']}", flush=True)


def step_noop(cfg, figures, args) -> None:
    runs = {"noop": [pyinfra_binary(), "-y", INVENTORY, "deploy.py"],
            "preview": [pyinfra_binary(), INVENTORY, "deploy.py", "--dry", "--diff"]}
    for key, cmd in runs.items():
        took, out = timed(cmd, cfg, cfg.state_dir / f"bench-{key}.log", args.deploy_timeout)
        # counted in a run of its own: the timed one prints no debug lines
        _, counted = timed(cmd + ["--debug"], cfg, cfg.state_dir / f"bench-{key}-debug.log", args.deploy_timeout)
        figures[key] = {"seconds": round(took, 1), **grand_total(out), "commands": commands_per_node(counted)}
        print(f"  {key}: {took:.1f} s ({figures[key].get('changed', '?')} changed), "
              f"commands per node {figures[key]['commands']}", flush=True)
    took, out = timed([pyinfra_binary(), "-y", "--debug", INVENTORY, "exec", "--", "true"], cfg,
                      cfg.state_dir / "bench-exec-true.log", 300)
    figures["exec_true"] = {"seconds": round(took, 1), "commands": commands_per_node(out)}
    print(f"  pyinfra exec -- true: {took:.1f} s", flush=True)


def step_drill(cfg, figures, args) -> None:
    out_json = cfg.state_dir / "bench-drill.json"
    out_json.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "drill", INVENTORY, "--hold", f"{args.hold:g}", "--json", str(out_json)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=child_env(cfg), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    timer = threading.Timer(args.drill_timeout, proc.kill)
    timer.start()
    log = []
    try:
        for line in proc.stdout:
            log.append(line)
            if line.startswith("  "):  # one line per case as it ends
                print("  drill:" + line.rstrip()[1:], flush=True)
        proc.wait()
    finally:
        timer.cancel()
    (cfg.state_dir / "bench-drill.log").write_text("".join(log))
    if not out_json.exists():
        raise StepFailed(f"the drill wrote no results (exit {proc.returncode}): "
                         + " | ".join(line.strip() for line in log[-3:])[:300])
    figures["drill"] = {"exit": proc.returncode, "hold_s": args.hold, "cases": json.loads(out_json.read_text())}


def step_lag(cfg, figures, args) -> None:
    nodes = containers.state_dict(cfg)["nodes"]
    try:
        with replication_lag.session(cfg, nodes) as password:
            lag = replication_lag.lag_phase(nodes, password, args.rate, args.lag_seconds)
    except SystemExit as exc:  # the bench module reports a node's refusal this way
        raise StepFailed(str(exc)) from None
    figures["lag"] = {"rate_per_node": args.rate, "seconds": args.lag_seconds, "directions": lag}
    replication_lag.print_lag(lag, args.rate, args.lag_seconds)


def _with_bench_session(cfg, phase):
    nodes = containers.state_dict(cfg)["nodes"]
    try:
        with replication_lag.session(cfg, nodes) as password:
            return phase(nodes, password)
    except SystemExit as exc:  # the bench module reports a node's refusal this way
        raise StepFailed(str(exc)) from None


def step_commit(cfg, figures, args) -> None:
    figures["commit"] = _with_bench_session(cfg, replication_lag.commit_latency_phase)
    replication_lag.print_commit_latency(figures["commit"])


def step_partition(cfg, figures, args) -> None:
    figures["partition"] = _with_bench_session(cfg, replication_lag.partition_phase)
    replication_lag.print_partition(figures["partition"])


def step_sync(cfg, figures, args) -> None:
    p = cfg.platform
    path = f"{p.tomcat.webapps_dir}/queuemetrics/WEB-INF/configuration.properties"
    a, b = (cfg.container(n.name) for n in cfg.nodes)
    names = [n.name for n in cfg.nodes]
    original = in_node(a, f"cat {path}")
    want = hashlib.sha256(original).hexdigest()

    def b_sum() -> str:
        return in_node(b, f"sha256sum < {path} | cut -d' ' -f1").decode().strip()

    if b_sum() != want:
        raise StepFailed(f"{names[1]} does not hold {names[0]}'s configuration.properties to begin with")
    # floor: one ssh round trip of the sync, i.e. a pull on B that finds nothing to take
    rtts = [int(in_node(b, f"s=$(date +%s%N); {SYNC_SCRIPT} pull; e=$(date +%s%N); echo $(( (e - s) / 1000 ))"))
            / 1e6 for _ in range(3)]
    samples = []
    try:
        for i in range(args.sync_samples):
            token = f"qmha-bench-{os.getpid()}-{i}"
            # B polls its own copy every 10 ms (at most 45 s) and prints when the token arrived
            watch = subprocess.Popen(
                [docker.docker_binary(), "exec", b, "sh", "-c",
                 f"echo ready; n=0; until grep -qF {token} {path}; do n=$((n+1)); [ $n -gt 4500 ] && exit 1; "
                 "sleep 0.01; done; date +%s.%N"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            timer = threading.Timer(60, watch.kill)
            timer.start()
            try:
                watch.stdout.readline()
                edited = float(in_node(a, f"printf '%s\\n' '# {token}' >> {path}; date +%s.%N"))
                seen = watch.communicate()[0].strip()
            finally:
                timer.cancel()
            if watch.returncode != 0 or not seen:
                raise StepFailed(f"sample {i + 1}: {names[1]} did not receive the edit within 45 s")
            samples.append(float(seen) - edited)  # the lab's containers share one clock
            print(f"  sync sample {i + 1}: {samples[-1]:.2f} s", flush=True)
            time.sleep(1.5)  # newest wins by whole-second mtime: the next edit must be a later second
    finally:
        in_node(a, f"cat > {path}", stdin=original)  # the original content, newest again: B takes it too
        deadline = time.monotonic() + 90  # the path units, or at worst the minute's cron
        while b_sum() != want:
            if time.monotonic() > deadline:
                raise StepFailed(f"{names[1]} did not take back the original configuration.properties in 90 s")
            time.sleep(0.5)
    figures["sync"] = {"samples_s": [round(s, 3) for s in samples], "p50_s": round(statistics.median(samples), 3),
                       "max_s": round(max(samples), 3), "ssh_round_trip_s": round(statistics.median(rtts), 3),
                       "path": path}


def _sql(container: str, statements: str, timeout: float = 1800) -> str:
    return in_node(container, "mariadb -NB", timeout=timeout, stdin=statements.encode()).decode()


def step_rebuild(cfg, figures, args) -> None:
    a, b = (cfg.container(n.name) for n in cfg.nodes)
    target = cfg.nodes[1].name
    # 1 KiB rows in batches of 64 MiB (one transaction each), until the table holds about --rebuild-mib
    batches = max(1, args.rebuild_mib // 64)
    _sql(a, f"DROP TABLE IF EXISTS {REBUILD_TABLE}; CREATE TABLE {REBUILD_TABLE} "
            "(id BIGINT PRIMARY KEY, v VARCHAR(1024)) ENGINE=InnoDB")
    for i in range(batches):
        _sql(a, f"INSERT INTO {REBUILD_TABLE} SELECT seq + {i * 65536}, "
                f"CONCAT(REPEAT(SHA2(seq + {i}, 512), 7), LEFT(SHA2(seq, 512), 128)) FROM queuemetrics.seq_1_to_65536")
    data_mib = round(float(_sql(a, "SELECT SUM(data_length + index_length) / 1048576 FROM information_schema.tables "
                                   "WHERE table_schema = 'queuemetrics'").strip()))
    print(f"  node A's database: {data_mib} MiB ({batches * 65536} rows of 1 KiB)", flush=True)
    containers.replace(cfg, target)
    took, out = timed([pyinfra_binary(), "-y", INVENTORY, "deploy.py", "--data", f"qm_db_resync={target}"], cfg,
                      cfg.state_dir / "bench-rebuild.log", args.deploy_timeout)
    journal = in_node(b, "journalctl -t qmha-rebuild --no-pager -o cat").decode()
    steps = {m.group(1): int(m.group(2)) / 1000 for m in re.finditer(r"^(.+?): done in (\d+) ms$", journal, re.M)}
    received = re.search(r"copy received \(exit 0\) in (\d+) ms, (\d+) MiB", journal)
    if received:
        steps = {"copy received": int(received.group(1)) / 1000, **steps}
    figures["rebuild"] = {"seconds": round(took, 1), "data_mib": data_mib, "steps_s": steps,
                          "received_mib": int(received.group(2)) if received else None, **grand_total(out)}
    _sql(a, f"DROP TABLE IF EXISTS {REBUILD_TABLE}")
    print(f"  rebuild of {target} ({data_mib} MiB): deploy {took:.1f} s; steps: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()), flush=True)


STEP_FUNCTIONS = {"floor": step_floor, "deploy": step_deploy, "noop": step_noop, "drill": step_drill,
                  "lag": step_lag, "commit": step_commit, "partition": step_partition, "sync": step_sync,
                  "rebuild": step_rebuild}
STEP_TITLES = {"floor": "plain package install (floor)", "deploy": "fresh deploy", "noop": "no-op re-run",
               "drill": "failover drill", "lag": "replication lag", "commit": "commit latency",
               "partition": "partition healing", "sync": "configuration sync", "rebuild": "rebuild a node"}


# ---------------------------------------------------------------- the table


def per_node(figure: dict) -> str:
    """"N commands per node" (or "N / M" when the nodes differ) from a figure's command counts."""
    counts = sorted(set((figure.get("commands") or {}).values()))
    return f"{' / '.join(map(str, counts)) or '?'} commands per node"


def rows(figures: dict, failures: dict, steps: list[str], cfg: containers.LabConfig) -> list[Row]:
    a, b = (n.name for n in cfg.nodes)
    out = []

    def fail(key: str) -> str:
        return "FAIL" if key in failures else "-"

    if "floor" in steps or "deploy" in steps:
        d, f = figures.get("deploy"), figures.get("floor")
        measured = fail("deploy") if not d else \
            f"{seconds(d['seconds'])} ({d.get('operations', '?')} operations; {per_node(d)})"
        floor = fail("floor") if not f else f"{seconds(f['seconds'])} (plain `{INSTALL[f['package_manager']]}` " \
                                            f"of the same {len(f['packages'])} packages)"
        out.append(Row("fresh deploy of both nodes", measured, floor,
                       ratio(d["seconds"], f["seconds"]) if d and f else "-",
                       ok=not ({"floor", "deploy"} & set(failures))))
    if "noop" in steps:
        e = figures.get("exec_true")
        floor = fail("noop") if not e else f"{seconds(e['seconds'])} (`pyinfra exec -- true`; {per_node(e)})"
        for key, title in (("noop", "no-op re-run"), ("preview", "preview of a deployed cluster (`--dry --diff`)")):
            n = figures.get(key)
            measured = fail("noop") if not n else \
                f"{seconds(n['seconds'])} ({n.get('changed', '?') or 0} changed; {per_node(n)})"
            out.append(Row(title, measured, floor, ratio(n["seconds"], e["seconds"]) if n and e else "-",
                           ok="noop" not in failures))
    if "drill" in steps:
        drill = figures.get("drill")
        for case in (drill or {}).get("cases", []):
            lost = sum(case["writes_missing"].values())
            catch = "-" if case["catch_up_s"] is None else f"{case['catch_up_s']} s"
            out.append(Row(f"drill: {case['case']}",
                           f"outage {case['longest_outage_s']} s, caught up after {catch} "
                           f"({case['failed']}/{case['requests']} requests failed, {lost} writes lost)",
                           ok=bool(case["passed"])))
        if "drill" in failures or not drill or not drill.get("cases"):
            out.append(Row("failover drill", "FAIL", ok=False))
    if "lag" in steps:
        lag = figures.get("lag")
        if not lag:
            out.append(Row("replication lag, p50 / p99", "FAIL", ok=False))
        for origin, f in (lag or {}).get("directions", {}).items():
            peer = b if origin == a else a
            if not f["rows"]:
                out.append(Row(f"replication lag {origin} -> {peer}", "FAIL (no row seen)", ok=False))
                continue
            out.append(Row(f"replication lag {origin} -> {peer}, p50 / p99",
                           f"{f['p50_ms']:.1f} / {f['p99_ms']:.1f} ms (max {f['max_ms']:.0f} ms; "
                           f"{f['achieved_per_s']:.0f} writes/s on each node, {f['missing']} missing)",
                           ok=f["missing"] == 0 and f["write_errors"] == 0))
    if "commit" in steps:
        c = figures.get("commit")
        if not c:
            out.append(Row("commit latency, p50 / p99", "FAIL", ok=False))
        else:
            mode = "semi-synchronous" if c["semi_sync"] else "asynchronous: no semi-sync"
            out.append(Row(f"commit latency on {c['node']} ({mode}), p50 / p99 of {c['count']}",
                           f"{c['p50_ms']:.2f} / {c['p99_ms']:.2f} ms ({c['unacknowledged_tx']} commits not "
                           "acknowledged by the peer)",
                           f"{c['async_p50_ms']:.2f} / {c['async_p99_ms']:.2f} ms (semi-sync off)",
                           ratio(c["p50_ms"], c["async_p50_ms"]), ok=c["unacknowledged_tx"] == 0))
    if "partition" in steps:
        f = figures.get("partition")
        if not f or not f["healed"]:
            out.append(Row("silent partition healed", "FAIL", ok=False))
        else:
            out.append(Row(f"silent partition of {f['hold_s']:g} s under writes on both nodes",
                           f"every row on both {f['healed_after_s']:.2f} s after the link came back "
                           f"({sum(f['rows'].values())} rows, {f['write_errors']} write errors, longest commit "
                           f"{f['longest_commit_s']:.2f} s)", ok=f["write_errors"] == 0))
    if "sync" in steps:
        s = figures.get("sync")
        if not s:
            out.append(Row("configuration.properties sync", "FAIL", ok=False))
        else:
            out.append(Row(f"configuration.properties {a} -> {b}, p50 / max of {len(s['samples_s'])}",
                           f"{s['p50_s']:.2f} / {s['max_s']:.2f} s",
                           f"{seconds(s['ssh_round_trip_s'])} (one ssh round trip of the sync)",
                           ratio(s["p50_s"], s["ssh_round_trip_s"]), ok="sync" not in failures))
    if "rebuild" in steps:
        r = figures.get("rebuild")
        if not r:
            out.append(Row("rebuild of a node from its peer", "FAIL", ok=False))
        else:
            parts = ", ".join(f"{k} {v:.1f} s" for k, v in r["steps_s"].items()
                              if not k.startswith(("folder", "accounts")))
            copy = f", a {r['received_mib']} MiB copy" if r.get("received_mib") else ""
            out.append(Row(f"rebuild of {b} from {a} ({r['data_mib']} MiB database{copy})",
                           f"{seconds(r['seconds'])} (the deploy with the flag; {parts})", ok="rebuild" not in failures))
    return out


def markdown(table: list[Row]) -> str:
    lines = ["| figure | measured | floor | ratio |", "|---|---|---|---|"]
    for r in table:
        measured = r.measured if r.ok or r.measured.startswith("FAIL") else f"FAIL: {r.measured}"
        lines.append(f"| {r.figure} | {measured} | {r.floor} | {r.ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated subset of {','.join(STEPS)}")
    parser.add_argument("--hold", type=float, default=10, help="seconds each drill case lasts (default 10)")
    parser.add_argument("--rate", type=float, default=200, help="inserts per second on each node (default 200)")
    parser.add_argument("--lag-seconds", type=float, default=30, help="length of the lag run (default 30)")
    parser.add_argument("--sync-samples", type=int, default=5, help="configuration edits timed (default 5)")
    parser.add_argument("--rebuild-mib", type=int, default=1024, help="node A's database for the rebuild (default 1024)")
    parser.add_argument("--install-timeout", type=float, default=1500)
    parser.add_argument("--deploy-timeout", type=float, default=1800)
    parser.add_argument("--drill-timeout", type=float, default=2400)
    args = parser.parse_args(argv)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        parser.error(f"unknown step(s) {', '.join(unknown)}; choose from {', '.join(STEPS)}")
    steps = [s for s in STEPS if s in steps]

    cfg = containers.LabConfig.from_env()
    cfg.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    started = datetime.now(timezone.utc)
    box = machine()
    header = (f"qm-ha figures, lab `{cfg.prefix}` ({cfg.lab_os}), {started:%Y-%m-%d %H:%M} UTC; machine: "
              f"{box['nproc']} CPUs ({box['cpu']}), {box['ram_gib']:g} GiB RAM, Linux {box['kernel']}")
    print(header, flush=True)
    if not {"floor", "deploy"} & set(steps) and not cfg.state_file.exists():
        containers.up(cfg)

    figures: dict = {}
    failures: dict = {}
    for step in steps:
        print(f"bench: {STEP_TITLES[step]}", flush=True)
        t0 = time.monotonic()
        try:
            STEP_FUNCTIONS[step](cfg, figures, args)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - a failed step is a FAIL row, the run goes on
            failures[step] = f"{type(exc).__name__}: {exc}"
            print(f"  FAIL {STEP_TITLES[step]}: {failures[step]}", flush=True)
        print(f"  ({time.monotonic() - t0:.0f} s)", flush=True)

    table = rows(figures, failures, steps, cfg)
    text = f"{header}\n\n{markdown(table)}\n"
    print()
    print(text)
    for step, why in failures.items():
        print(f"FAIL {STEP_TITLES[step]}: {why}")
    (cfg.state_dir / "bench.md").write_text(text)
    (cfg.state_dir / "bench.json").write_text(json.dumps(
        {"date": started.isoformat(timespec="seconds"), "machine": box, "lab": cfg.prefix, "lab_os": cfg.lab_os,
         "steps": steps, "rows": [asdict(r) for r in table], "figures": figures, "failures": failures},
        indent=2) + "\n")
    print(f"bench: written to {cfg.state_dir / 'bench.md'} and bench.json")
    return 0 if table and all(r.ok for r in table) and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
