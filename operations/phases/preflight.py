"""Preflight: every requirement of the seed, checked from facts before anything changes.

``check(run)`` runs once per deploy (for all nodes at the first host) and raises ``PreflightError``
naming each failing host, the requirement and its fix; the deploy then stops with nothing changed.
The knobs come first: a value not of its form (``operations.knobs``) is refused before any
connection matters. Warnings (a requirement turned soft by a flag) are printed and the deploy goes on.

Example:

.. code:: python

    from operations.phases import preflight
    preflight.check(run)      # in deploy.py, before any phase that changes a node
"""

from __future__ import annotations

import ipaddress
import time
from pathlib import Path
from dataclasses import dataclass

import gevent
from pyinfra import inventory, logger, state
from pyinfra.api import StringCommand
from pyinfra.api.exceptions import DeployError
from pyinfra.facts.hardware import Ipv4Addrs, NetworkDevices
from pyinfra.facts.server import User

from .. import certificates, floating
from ..certificates import CertificateError
from ..context import Run, for_host, knobs_of, per_run
from ..elevated import as_inventory_says
from ..facts.mariadb import MariadbServer
from ..facts.selinux import SELinuxMode
from ..facts.system import (AddressAnswers, CommandSucceeds, EpochTime, FreeMiB, ResolvedAddresses, RootFilesystem,
                             SshClientAddress, TcpReachable, UrlAnswers)
from ..knobs import connection
from ..mariadb import capabilities
from ..platform import UnsupportedPlatform, platform_of
from ..prefetch import node_fact
from .app.tomcat import AppConfigError, tomcat_for
from .app.webapp import licence_env, licence_key


class PreflightError(DeployError):
    """One or more requirements failed; nothing was changed on any node."""


@dataclass(frozen=True)
class Finding:
    node: str
    requirement: str
    problem: str
    fix: str
    warning: bool = False

    def __str__(self) -> str:
        return f"{self.node}: {self.requirement}: {self.problem}. Fix: {self.fix}"


def check_knobs(hosts) -> list[Finding]:
    """Every knob of every host has its form (``operations.knobs``): read before any fact. A problem
    both hosts share (a group knob) is named once, for both."""
    by_problem: dict[tuple[str, str, str], list[str]] = {}
    for h in hosts:
        for p in knobs_of(h).problems:
            by_problem.setdefault((p.knob, p.problem, p.fix), []).append(p.host)
    return [Finding(" and ".join(names), knob, problem, fix) for (knob, problem, fix), names in by_problem.items()]


def check_os(h) -> list[Finding]:
    """The node runs a supported release; the refusal names them family by family."""
    try:
        platform_of(h)
    except UnsupportedPlatform as exc:
        return [Finding(h.name, "supported OS", str(exc),
                        "install one of the supported releases on this node (a fresh install, as the seed asks)")]
    return []


def check_semi_sync(h) -> list[Finding]:
    """With ``qm_db_semi_sync`` on, a warning: where the node's MariaDB has none (5.5), what a node
    acknowledged and had not yet sent is lost with that node; where it has it, the ring's measured
    hang after a partition."""
    run = for_host(h)
    if run.platform is None or not run.knobs.qm_db_semi_sync:
        return []
    caps = capabilities(node_fact(h, MariadbServer, client=run.platform.db_client), run.platform)
    version = ".".join(map(str, caps.version))
    if caps.semi_sync:
        return [Finding(h.name, "semi-synchronous replication", f"on, in a two-node ring: with MariaDB 10.11 it "
                        "hung the lab's node after a silent partition (the peer's reconnections piled up until "
                        "the server took no connection; only killing mariadbd brought it back)",
                        "leave qm_db_semi_sync off unless this server version is proven with `make bench` "
                        "(its partition step) and the lab suite", warning=True)]
    return [Finding(h.name, "semi-synchronous replication",
                    f"MariaDB {version} has none: a write this node acknowledged and had not yet sent to its peer "
                    "is lost if this node is lost", "accept it, or run the cluster on a system whose MariaDB is "
                    "10.3 or later (EL 8/9, Debian 12/13); qm_db_semi_sync = False silences this", warning=True)]


def check_app_mode(h) -> list[Finding]:
    """The install mode is QueueMetrics' (the stand-in only in the lab) and can be had on this
    node's OS (Loway's package is EL only; EL 8 packages no Tomcat, so only Loway's runs there)."""
    run = for_host(h)
    if run.knobs.qm_app_mode == "standin" and not run.knobs.qm_lab:
        return [Finding(h.name, "qm_app_mode", "'standin' is the lab's stand-in webapp, not QueueMetrics",
                        "set qm_app_mode = 'war' (with qm_app_war, the customer's QueueMetrics WAR) or 'loway' "
                        "(Loway's package, EL only); the stand-in belongs to inventories/lab.py")]
    found = []
    try:
        licence = licence_key(h.name, run.knobs.qm_licence_file)
    except (AppConfigError, OSError) as exc:
        problem, _, fix = str(exc).partition("; ")
        found.append(Finding(h.name, "QueueMetrics licence", problem, fix or "make the file readable here"))
        licence = ""
    if licence is None and run.knobs.qm_app_mode in ("war", "loway"):
        found.append(Finding(h.name, "QueueMetrics licence", "no licence key given: the node keeps the one it has",
                             f"set qm_licence_file for {h.name} (node A the main licence, node B its hot-backup "
                             f"one) or {licence_env(h.name)}", warning=True))
    if run.platform is None:
        return found
    try:
        tomcat_for(run.platform, run.knobs.qm_app_mode)
    except AppConfigError as exc:
        found.append(Finding(h.name, "qm_app_mode", str(exc).partition("; ")[0], str(exc).partition("; ")[2]))
    return found


def selinux_refused_ports(platform, ports: list[int]) -> list[int]:
    """PORTS nginx must listen on that the platform's SELinux policy does not let it bind (none where
    the platform has no SELinux).

    >>> selinux_refused_ports(PLATFORMS["el7"], [443, 8081])
    [8081]
    """
    if platform is None or platform.selinux is None:
        return []
    return [port for port in ports if port not in platform.selinux.web_ports]


def check_selinux_ports(h) -> list[Finding]:
    """nginx's own ports are ones an enforcing SELinux lets it listen on (its hop to the peer's Tomcat
    is a knob); on a node where SELinux is disabled nothing is refused."""
    run = for_host(h)
    refused = selinux_refused_ports(run.platform, [run.knobs.qm_web_peer_hop_port])
    if not refused or node_fact(h, SELinuxMode) == "disabled":
        return []
    allowed = ", ".join(str(p) for p in run.platform.selinux.web_ports)
    return [Finding(h.name, "qm_web_peer_hop_port", f"SELinux does not let nginx listen on port {refused[0]} "
                    "(not an http_port_t port)", f"set qm_web_peer_hop_port to a free one of {allowed}, or label it "
                    f"first: semanage port -a -t http_port_t -p tcp {refused[0]} (-m where it has a type already)")]


def check_whole_cluster() -> list[Finding]:
    """The run covers both nodes: ``--limit``/``--exclude`` would deploy one half of a pair whose
    phases read and write both (replication, sync keys)."""
    limit = state.limit_hosts
    if not isinstance(limit, list) or all(h in limit for h in inventory):
        return []
    left_out = ", ".join(h.name for h in inventory if h not in limit)
    return [Finding("inventory", "both nodes in one run", f"--limit/--exclude leaves out {left_out}",
                    "run the deploy without --limit/--exclude: it changes only what differs, on each node")]


def check_connected(h) -> list[Finding]:
    """pyinfra reached the node over SSH (a node it could not reach has no facts to check)."""
    if h.connected:
        return []
    reach = connection(h.name, h.data)
    target, user = f"{reach.hostname}:{reach.port}", reach.user
    return [Finding(h.name, "SSH access from this machine", f"could not connect to {target} as {user!r}",
                    "start the node, or correct ssh_hostname / ssh_port / ssh_user / the SSH key in the "
                    "inventory; this machine must reach the node's SSH port")]


ELEVATION_KEYS = ("_sudo", "_su_user", "_doas", "_dzdo")


def check_elevation(h) -> list[Finding]:
    """With sudo (or su, doas) in the inventory: one probe command gets root before any fact
    needs it, so a wrong or missing password is named here, not by every fact failing."""
    arguments = as_inventory_says(state, h)
    if not any(arguments.get(key) for key in ELEVATION_KEYS):
        return []
    ok, output = h.run_shell_command(StringCommand("id", "-u"), **arguments)
    if ok and output.stdout.strip() == "0":
        return []
    said = " ".join(line.strip() for line in output.stderr_lines if line.strip())[-300:] or output.stdout.strip()
    user = connection(h.name, h.data).user
    return [Finding(h.name, "root access", f"sudo as {user!r} did not give root ({said or 'no answer'})",
                    f"give {user!r} sudo rights for all commands on the node and the right password in "
                    "_sudo_password (e.g. from the environment: QMHA_SUDO_PASSWORD for inventories/lab.py), "
                    "or connect as root")]


def check_root(h) -> list[Finding]:
    user = node_fact(h, User)
    if user == "root":
        return []
    return [Finding(h.name, "root access", f"commands run as {user!r}, not root",
                    "connect as root (ssh_user='root'), or as the 'qm' sudo user with _sudo=True in the "
                    "inventory (sudo's password: pyinfra asks, or _sudo_password from the environment)")]


def check_interface(h, node) -> list[Finding]:
    interface = knobs_of(h).qm_interface
    addresses = node_fact(h, Ipv4Addrs)
    if node.address in (addresses.get(interface) or []):
        return []
    holder = next((name for name, ips in addresses.items() if node.address in ips), None)
    where = f"it is on {holder}" if holder else "no interface has it"
    return [Finding(h.name, f"address on {interface}", f"{node.address} is not on {interface} ({where})",
                    f"set qm_node_address to this node's {interface} address, or qm_interface to "
                    f"{holder or 'the interface that carries it'}")]


def check_disk(h) -> list[Finding]:
    fs = node_fact(h, RootFilesystem)
    problems = []
    if fs["fstype"] != "ext4":
        problems.append(f"root filesystem is {fs['fstype']}, not ext4")
    if fs["lvm"]:
        problems.append(f"root is on LVM ({fs['source']})")
    if fs["other_mounts"]:
        problems.append("other partitions are mounted: " + ", ".join(m["target"] for m in fs["other_mounts"]))
    if fs["swaps"]:
        problems.append("swap partitions: " + ", ".join(fs["swaps"]))
    if not problems:
        return []
    strict = knobs_of(h).qm_strict_disk_layout
    return [Finding(h.name, "single ext4 root partition without LVM", "; ".join(problems),
                    "reinstall with one ext4 partition, or set qm_strict_disk_layout = False to accept "
                    "this layout with a warning", warning=not strict)]


def check_data_space(h) -> list[Finding]:
    """Room where MariaDB keeps its data: the watchdog keeps the database stopped below
    ``qm_db_min_free_mb`` and starts it only at twice that, so less would leave it down after the deploy."""
    reserve = knobs_of(h).qm_db_min_free_mb
    try:
        data_dir = platform_of(h).db_data_dir
    except UnsupportedPlatform:  # check_os says so
        return []
    free = node_fact(h, FreeMiB, path=data_dir)
    if not reserve or free is None or free >= 2 * reserve:
        return []
    return [Finding(h.name, "free space for the database", f"{free} MiB free where MariaDB keeps its data ({data_dir}); "
                    f"the database watchdog stops MariaDB below {reserve} MiB (qm_db_min_free_mb) and starts it only "
                    f"at {2 * reserve} MiB",
                    f"free space on that filesystem (old backups, logs), or lower qm_db_min_free_mb (0 turns this "
                    f"guard off)")]


def check_package_sources(h) -> list[Finding]:
    """The package manager can reach a repository holding what the deploy installs: the mirror the
    knobs name (fetched from the node), or else the node's own repositories (``repo_check``)."""
    try:
        p = platform_of(h)
    except UnsupportedPlatform:  # check_os says so
        return []
    k = knobs_of(h)
    findings = []
    for knob, url, source in (("qm_package_mirror", k.qm_package_mirror, p.package_source),
                              ("qm_epel_mirror", k.qm_epel_mirror, p.epel_source)):
        if not url:
            continue
        if source is None:
            why = f" ({p.repo_files_note})" if p.repo_files_note else ""
            findings.append(Finding(h.name, "package source", f"{knob} is set, but the deploy leaves {p.label}'s "
                                    f"repositories as the node has them{why}",
                                    f"unset {knob}: use the node's own repositories or a local mirror configured "
                                    "on the node"))
            continue
        probe = f"{url.rstrip('/')}/{source.probe}"
        if node_fact(h, UrlAnswers, url=probe) is False:
            findings.append(Finding(h.name, "package source", f"the node cannot fetch {probe} ({knob})",
                                    f"check the URL (e.g. {source.example}) and that the node reaches it "
                                    "(proxy, firewall, DNS)"))
    if findings or not p.repo_check or (k.qm_package_mirror and p.package_source):
        return findings  # (a mirror the deploy writes is probed above)
    if node_fact(h, CommandSucceeds, command=p.repo_check) is not False:
        return []
    if p.package_source is None:  # the node's own repositories are the only ones
        return [Finding(h.name, "package source", f"the package manager reaches no repository (`{p.repo_check}` "
                        "failed)", p.repo_fix)]
    fix = (f"set qm_package_mirror = '{p.package_source.example}' (the vault) or a local mirror"
           + (f", and qm_epel_mirror = '{p.epel_source.example}'" if p.epel_source else ""))
    return [Finding(h.name, "package source", f"the package manager reaches no repository "
                    f"(`{p.repo_check}` failed; {p.label}'s mirrors are archived after its end of life)", fix)]


def check_peer_ssh(h, peer) -> list[Finding]:
    if node_fact(h, TcpReachable, address=peer.address, port=peer.ssh_port):
        return []
    return [Finding(h.name, "peer reachable", f"cannot open TCP {peer.address}:{peer.ssh_port} (the peer's SSH)",
                    "let the two nodes reach each other (routing, firewall, security groups) on the SSH port")]


def check_ssh_sources(h) -> list[Finding]:
    """Restricting SSH (``qm_firewall_ssh_sources``) never shuts out this machine: the address its
    connection comes from, as the node sees it, is one of the sources (the peer is let in anyway)."""
    sources = knobs_of(h).qm_firewall_ssh_sources
    if not sources:
        return []
    seen = node_fact(h, SshClientAddress)
    networks = [ipaddress.IPv4Network(s) for s in sources]
    try:
        covered = seen is not None and any(ipaddress.ip_address(seen) in n for n in networks)
    except ValueError:
        covered = False
    if covered:
        return []
    problem = (f"SSH from this machine comes from {seen}, which none of {', '.join(sources)} covers: the next "
               "deploy would be shut out" if seen else
               "cannot tell which address this machine's SSH comes from, so the restriction may shut it out")
    fix = (f"add {seen}/32 (or its network) to qm_firewall_ssh_sources" if seen else
           "connect directly (not through a proxy), or leave qm_firewall_ssh_sources empty")
    return [Finding(h.name, "qm_firewall_ssh_sources keeps this machine in", problem, fix)]


def check_floating(h, hosts) -> list[Finding]:
    """Floating addresses on this node's subnet, and free: answered by no host but the nodes (a
    re-run finds them held by keepalived on a node)."""
    k = knobs_of(h)
    if not k.qm_floating_addresses:
        return []
    device = (node_fact(h, NetworkDevices).get(k.qm_interface) or {}).get("ipv4") or {}
    if not device.get("address"):
        return []  # check_interface names the missing address
    subnet = ipaddress.ip_interface(f"{device['address']}/{device.get('mask_bits', 32)}").network
    held = {ip for other in hosts for ips in node_fact(other, Ipv4Addrs).values() for ip in ips}
    findings = []
    for address in k.qm_floating_addresses:
        if ipaddress.ip_address(address) not in subnet:
            findings.append(Finding(h.name, "floating addresses on the node's subnet",
                                    f"{address} is not in {subnet} ({k.qm_interface})",
                                    f"choose free addresses in {subnet}, or unset qm_floating_addresses"))
        elif address not in held and node_fact(h, AddressAnswers, address=address):
            findings.append(Finding(h.name, "floating addresses free", f"{address} is already in use on {subnet} "
                                    "(a host answers for it)", "choose addresses no host has (ask your network "
                                    "administrator to reserve two), or unset qm_floating_addresses"))
    return findings


def check_names(h, cluster) -> list[Finding]:
    findings = []
    expected = {n.fqdn: [n.address] for n in cluster.nodes}
    expected[cluster.fqdn] = floating.cluster_addresses([n.address for n in cluster.nodes],
                                                        knobs_of(h).qm_floating_addresses)
    for name, want in expected.items():
        got = node_fact(h, ResolvedAddresses, hostname=name)
        if got != sorted(want):
            findings.append(Finding(h.name, f"{name} resolves", f"resolves to {got or 'nothing'}, not {want}",
                                    f"add DNS A record(s) {name} -> {', '.join(want)}"))
    return findings


def check_clocks(hosts, tolerance: float) -> list[Finding]:
    """Each node's clock offset from this machine, measured around the fact (both nodes at once);
    compared between nodes."""
    def offset(h):
        before = time.time()
        node_time = node_fact(h, EpochTime)
        after = time.time()
        return None if node_time is None else node_time - (before + after) / 2

    readings = [gevent.spawn(offset, h) for h in hosts]
    gevent.joinall(readings)
    offsets = {}
    for h, reading in zip(hosts, readings):
        if reading.get() is None:
            return [Finding(h.name, "clock", "could not read the clock", "check that `date` works on the node")]
        offsets[h.name] = reading.get()
    a, b = list(offsets)
    skew = abs(offsets[a] - offsets[b])
    if skew <= tolerance:
        return []
    return [Finding(f"{a}+{b}", "clocks agree", f"the nodes' clocks differ by {skew:.1f} s (limit {tolerance:g} s)",
                    "sync both clocks with NTP (chrony) before deploying; newest-wins sync depends on it")]


def check_tls(run: Run, hosts=()) -> list[Finding]:
    """The customer's certificate (or the generated one) is usable and covers every name; a warning
    when a node's MariaDB cannot present its key type to the peer."""
    cluster = run.cluster
    try:
        material = run.tls
    except CertificateError as exc:
        problem, _, fix = str(exc).partition(" Fix: ")
        fallback = "remove qm_tls_cert/qm_tls_key from the inventory to use a self-signed CA"
        return [Finding("control machine", "TLS certificate", problem.rstrip(". "),
                        f"{fix.rstrip('. ')} (or {fallback})" if fix else f"fix qm_tls_cert/qm_tls_key, or {fallback}")]
    for warning in material.warnings:
        logger.warning(f"--> preflight warning: TLS certificate: {warning}")
    ecdsa = certificates.is_ecdsa(material.cert_path)
    platforms = {h.name: for_host(h).platform for h in hosts} if ecdsa else {}
    result = [Finding(name, "a certificate MariaDB can serve", f"{material.cert_path} has an ECDSA key, which "
                      f"MariaDB {'.'.join(map(str, p.db_packaged_version))} cannot present to the "
                      "peer (replication TLS would fail with 'no shared cipher')",
                      "use an RSA certificate (qm-ha generates RSA ones; remove an older generated tls/ "
                      "folder of the cluster's state to have it made again)", warning=True)
              for name, p in platforms.items() if p is not None and not p.db_serves_ecdsa]
    # names only: every peer is verified by its node FQDN (nginx's hop, replication), so a bought
    # certificate naming the cluster and node FQDNs (or a wildcard over them) is enough
    missing = certificates.check_names(material, [cluster.fqdn, *(n.fqdn for n in cluster.nodes)], [])
    if not missing:
        return result
    return result + [Finding("control machine", "TLS certificate covers the cluster",
                    f"{material.cert_path} does not cover {', '.join(missing)}",
                    "have the certificate reissued with these names as subjectAltNames")]


def check_db_dump(dump: str | None) -> list[Finding]:
    """qm_db_dump names a readable .sql or .sql.gz file on this machine."""
    if not dump:
        return []
    path = Path(str(dump)).expanduser()
    fix = "set qm_db_dump to the path of the customer's backup (.sql or .sql.gz) on this machine"
    if not path.is_file():
        return [Finding("control machine", "qm_db_dump", f"{path} is not a file", fix)]
    if not (path.name.endswith(".sql") or path.name.endswith(".sql.gz")):
        return [Finding("control machine", "qm_db_dump", f"{path.name} is neither .sql nor .sql.gz", fix)]
    try:
        with path.open("rb") as fh:
            head = fh.read(2)
    except OSError as exc:
        return [Finding("control machine", "qm_db_dump", f"cannot read {path}: {exc.strerror}", fix)]
    if path.name.endswith(".gz") and head != b"\x1f\x8b":
        return [Finding("control machine", "qm_db_dump", f"{path.name} is not gzip data", fix)]
    return []


def check_replication(run: Run) -> list[Finding]:
    """What the replication phase refuses to do (a broken channel, data it would replace)."""
    from .replication import cluster_plan

    plan = cluster_plan(run)
    for note in plan.notes:
        logger.warning(f"--> preflight warning: replication: {note}")
    return [Finding(node, requirement, problem, fix) for node, requirement, problem, fix in plan.problems]


def findings(run: Run) -> list[Finding]:
    cluster = run.cluster
    hosts = list(inventory)
    bad_knobs = check_knobs(hosts)
    if bad_knobs:  # nothing else is read with a knob not of its form
        return bad_knobs
    partial = check_whole_cluster()
    if partial:
        return partial
    unreachable = [f for h in hosts for f in check_connected(h)]
    if unreachable:  # both nodes or nothing: a cluster is never half-deployed
        return unreachable
    refused = [f for h in hosts for f in check_elevation(h)]
    if refused:  # no fact can be read without root: stop at this one finding per node
        return refused
    def node_findings(h) -> list[Finding]:
        node = cluster.node_for(h.name)
        peer = next(n for n in cluster.nodes if n is not node)
        return (check_os(h) + check_app_mode(h) + check_selinux_ports(h) + check_semi_sync(h) + check_root(h)
                + check_interface(h, node) + check_disk(h) + check_data_space(h) + check_package_sources(h)
                + check_floating(h, hosts) + check_peer_ssh(h, peer) + check_ssh_sources(h)
                + check_names(h, cluster))

    # each node's facts read on both nodes at once; findings in the inventory's order
    readings = [gevent.spawn(node_findings, h) for h in hosts]
    gevent.joinall(readings, raise_error=True)
    result: list[Finding] = [f for reading in readings for f in reading.get()]
    result += check_clocks(hosts, run.knobs.qm_clock_tolerance_s)
    result += check_tls(run, hosts)
    dump_findings = check_db_dump(run.knobs.qm_db_dump)
    result += dump_findings
    if not dump_findings and not any(f.requirement == "supported OS" for f in result):
        result += check_replication(run)
    return result


def _found(run: Run) -> list[Finding]:
    result = findings(run)
    for f in result:
        if f.warning:
            logger.warning(f"--> preflight warning: {f}")
    if not any(not f.warning for f in result):
        logger.info(f"--> preflight passed on {', '.join(h.name for h in inventory)}")
    return result


def check(run: Run) -> None:
    """Check every node once per deploy; raise PreflightError on any failure, log warnings."""
    errors = [f for f in per_run("preflight", lambda: _found(run)) if not f.warning]
    if errors:
        raise PreflightError(
            f"preflight found {len(errors)} problem(s); nothing was changed on any node:\n  - "
            + "\n  - ".join(str(f) for f in errors)
        )
