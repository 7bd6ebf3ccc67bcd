"""The short verification summary ``make lab`` ends with: what a person would check by hand.

Each check runs a real command in a lab container and prints one line: ok/FAIL, what, and detail.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from operations import paths
from operations.platform import PLATFORMS

from . import docker
from .containers import LAB_PLATFORMS

CLIENT_CA = "/tmp/qmha-ca.crt"


def sh(container: str, command: str, timeout: float = 30) -> tuple[bool, str]:
    proc = docker.run("exec", container, "sh", "-c", command, check=False, timeout=timeout)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def cluster_name_resolves_to_both(state: dict) -> tuple[bool, str]:
    ok, out = sh(state["client_container"], f"getent ahostsv4 {state['fqdn']} | awk '{{print $1}}' | sort -u")
    want = sorted(state.get("floating_addresses") or [n["address"] for n in state["nodes"]])
    got = sorted(out.split())
    return ok and got == want, f"{state['fqdn']} -> {', '.join(got) or out}"


def queuemetrics_up_over_https(state: dict) -> tuple[bool, str]:
    """The client gets "state":"QMUP" from https://<cluster fqdn>/queuemetrics/sysup.jsp, trusting the cluster CA."""
    ca = state.get("ca_cert") or str(paths.control_ca(paths.control_dir(None, state["fqdn"], create=False)))
    if not Path(ca).exists():
        return False, f"no cluster CA at {ca} (deploy first)"
    docker.run("cp", ca, f"{state['client_container']}:{CLIENT_CA}", check=False)
    ok, out = sh(state["client_container"],
                 f"curl -sS --cacert {CLIENT_CA} --connect-timeout 5 --max-time 20 "
                 f"https://{state['fqdn']}/queuemetrics/sysup.jsp")
    return ok and '"state":"QMUP"' in out, f"https://{state['fqdn']}/queuemetrics/sysup.jsp: {out[:120]}"


def app_web_active(state: dict, node: dict) -> tuple[bool, str]:
    """The web and application tier's units of the lab's platform row are active."""
    p = PLATFORMS[LAB_PLATFORMS[state.get("lab_os") or "debian12"]]
    return service_active(f"{p.nginx.service} {p.tomcat.service}")(state, node)


def service_active(unit_names: str) -> Callable[[dict, dict], tuple[bool, str]]:
    def check(state: dict, node: dict) -> tuple[bool, str]:
        ok, out = sh(node["container"], f"for u in {unit_names}; do systemctl is-active $u; done")
        return ok, f"{unit_names.replace(' ', ', ')}: {' '.join(out.split())}"
    check.__name__ = f"active: {unit_names}"
    return check


def node_names_in_hosts(state: dict, node: dict) -> tuple[bool, str]:
    missing = []
    for other in state["nodes"]:
        ok, _ = sh(node["container"], f"grep -Eq '^{other['address']}[[:space:]].*{other['fqdn']}' /etc/hosts")
        if not ok:
            missing.append(other["fqdn"])
    return not missing, "/etc/hosts has " + ("both node FQDNs" if not missing else f"no {', '.join(missing)}")


def replication_running(state: dict, node: dict) -> tuple[bool, str]:
    """This node's channel from its peer: both threads running, over TLS, from the peer (by its node
    FQDN where the server checks the certificate's names, by its address on older servers)."""
    from operations.facts.mariadb import ReplicationStatus

    ok, out = sh(node["container"], ReplicationStatus().command())
    status = ReplicationStatus().process(out.splitlines())
    channel = status.get("channel")
    if not ok or not status["running"]:
        return False, "replication: MariaDB does not answer"
    if not channel:
        return False, "replication: no channel configured"
    peer = next(n for n in state["nodes"] if n["name"] != node["name"])
    good = (channel["io_running"], channel["sql_running"]) == ("Yes", "Yes") and channel["ssl"] \
        and channel["master_host"] in (peer["address"], peer["fqdn"])
    detail = (f"replication from {peer['name']} ({channel['master_host']}): IO {channel['io_running']}, SQL {channel['sql_running']}, "
              f"TLS {'yes' if channel['ssl'] else 'NO'}, {channel['seconds_behind']} s behind")
    errors = "; ".join(channel[k] for k in ("last_io_error", "last_sql_error") if channel[k])
    return good, detail + (f"; {errors}" if errors else "")


NODE_CHECKS = [service_active("ssh chrony cron mariadb"), node_names_in_hosts, app_web_active, replication_running]


def report(state: dict) -> bool:
    """Print one line per check; True when all passed."""
    results = [("client", *cluster_name_resolves_to_both(state)), ("client", *queuemetrics_up_over_https(state))]
    for node in state["nodes"]:
        for check in NODE_CHECKS:
            results.append((node["name"], *check(state, node)))
    for where, ok, detail in results:
        print(f"  {'ok  ' if ok else 'FAIL'} {where:8} {detail}")
    passed = sum(1 for _, ok, _ in results if ok)
    print(f"verify: {passed}/{len(results)} checks passed; cluster URL https://{state['fqdn']}/queuemetrics/ "
          f"(from {state['client_container']}: docker exec -it {state['client_container']} bash)")
    return passed == len(results)
