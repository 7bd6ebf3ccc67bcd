"""Rolling upgrade of QueueMetrics in ``war`` mode: a new WAR staged on both nodes, then swapped in
one node at a time, node A first.

A new WAR (``qm_app_war`` pointing at another file) is first *staged* on each node beside the
running one (``paths.WEBAPP_NEXT``, its file list, its identity written last), while both keep
serving. Then each node *swaps*, node A's operation before node B's: wait until its replication
channel has applied everything it received (the peer's schema changes are here), stop Tomcat (its
nginx sends requests to the peer's Tomcat meanwhile), remove the old WAR's files by its list, copy
the staged ones in, start Tomcat, wait until ``sysup.jsp`` says QMUP, wait out nginx's
``fail_timeout`` so this node's nginx takes its own Tomcat back, and report the WAR it runs in a
replicated table. Node B's swap starts only once node A's report has reached node B's database:
pyinfra runs the hosts in parallel and goes on with the hosts that did not fail, so B never
swaps while A failed to come back. QueueMetrics changes its schema when a new version first
starts: that happens on node A, and node B finds the change replicated.

A run killed between the swaps leaves a staged identity that does not run yet: the next run sees
it (``StagedWebappPending``) and finishes the roll-out.

Example:

.. code:: python

    from operations.phases.app import rolling
    rolling.war_plan("sha256:ab..", staged=None, running="sha256:01..")   # "stage"
    rolling.roll_order(["node-a", "node-b"])                              # ("node-a", "node-b")
"""

from __future__ import annotations

import hashlib
import shlex
from io import StringIO
from pathlib import Path

from pyinfra import host
from pyinfra.api import operation
from pyinfra.operations import files

from ... import paths
from ...mariadb import sql_ident, sql_string
from ...secret_files import secret_file
from ..web import FAIL_TIMEOUT_S
from .tomcat import START_WAIT_S

#: the table (in the QueueMetrics database, so it replicates) where each node reports the WAR it runs
ROLLOUT_TABLE = "qmha_rollout"
#: how long a swap waits for its replication channel to apply what it received
CAUGHT_UP_WAIT_S = 300
#: how long node B's swap waits for node A's report (A's swap runs before it: this covers replication)
PEER_WAIT_S = 120
#: how long a swap waits for another one on the same node (an interrupted run's, still running there)
LOCK_WAIT_S = 900
#: war_plan's answers
NOTHING, STAGE, SWAP = "nothing", "stage", "swap"


def war_identity(war: Path) -> str:
    """The identity of a WAR: ``sha256:`` and the file's SHA-256; for an unpacked folder, the
    SHA-256 of its sorted (path, SHA-256) list."""
    war = Path(war)
    if war.is_dir():
        listing = hashlib.sha256()
        for item in sorted(p for p in war.rglob("*") if p.is_file()):
            listing.update(f"{item.relative_to(war)}\0{_sha256(item)}\n".encode())
        return f"sha256:{listing.hexdigest()}"
    return f"sha256:{_sha256(war)}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def war_plan(desired: str, staged: str | None, running: str | None) -> str:
    """What a node needs for the WAR DESIRED: ``nothing`` (it runs it), ``swap`` (it is staged
    whole, not running yet) or ``stage`` (stage it, then swap)."""
    if running == desired:
        return NOTHING
    if staged == desired:
        return SWAP
    return STAGE


def roll_order(node_names) -> tuple[str, ...]:
    """The order in which the nodes swap: node A, then node B (the inventory's order), always."""
    return tuple(node_names)


def waits_for(node_name: str, order: tuple[str, ...]) -> str | None:
    """The node whose report NODE_NAME's swap waits for: the one before it in ORDER (None for the first)."""
    position = order.index(node_name)
    return order[position - 1] if position else None


def _sql(client: str, statement: str) -> str:
    """Shell: STATEMENT run by the client as root (socket or /root/.my.cnf), no header, no table."""
    return f"{client} -NB -e {shlex.quote(statement)}"


def caught_up_command(client: str, seconds: int = CAUGHT_UP_WAIT_S) -> str:
    """Shell: wait (bounded) until this node's replication channel has applied all it received
    (the relay log executed up to what the IO thread read), so the peer's writes and schema
    changes are here; fail at once when the SQL thread is stopped (a broken channel)."""
    judge = ("awk -F': ' '{sub(/^ +/, \"\", $1); v[$1] = $2} END {"
             "if (!(\"Slave_SQL_Running\" in v)) exit 0; "
             "if (v[\"Slave_SQL_Running\"] != \"Yes\") exit 2; "
             "exit !(v[\"Master_Log_File\"] == v[\"Relay_Master_Log_File\"] && "
             "v[\"Read_Master_Log_Pos\"] == v[\"Exec_Master_Log_Pos\"])}'")
    return (f"(for i in $(seq {seconds}); do "
            f"s=$({client} -e 'SHOW SLAVE STATUS\\G' 2>/dev/null) || {{ sleep 1; continue; }}; "
            f"printf '%s\\n' \"$s\" | {judge}; rc=$?; "
            "[ $rc -eq 0 ] && exit 0; "
            "[ $rc -eq 2 ] && { echo 'the replication channel is stopped (SQL thread): repair it before an upgrade' >&2; "
            "exit 1; }; sleep 1; done; "
            f"echo 'the replication channel did not apply what it received within {seconds} s' >&2; exit 1)")


def qmup_command(http_port: int, seconds: int = START_WAIT_S) -> str:
    """Shell: wait (bounded) until this node's Tomcat answers ``sysup.jsp`` with QMUP on loopback
    (the webapp deployed and talking to its database)."""
    request = f"GET /{paths.CONTEXT}/sysup.jsp HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n"
    return (f"(for i in $(seq {seconds}); do "
            f"timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/{http_port} && printf \"{request}\" >&3 && "
            "cat <&3' 2>/dev/null | grep -q '\"state\":\"QMUP\"' && exit 0; sleep 1; done; "
            f"echo 'sysup.jsp on 127.0.0.1:{http_port} did not say QMUP within {seconds} s' >&2; exit 1)")


def report_command(client: str, database: str, node: str, identity: str) -> str:
    """Shell: NODE reports that it runs IDENTITY (a row of the replicated rollout table)."""
    table = f"{sql_ident(database)}.{ROLLOUT_TABLE}"
    return _sql(client, f"CREATE TABLE IF NOT EXISTS {table} (node VARCHAR(255) NOT NULL PRIMARY KEY, "
                        "war VARCHAR(80) NOT NULL, at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP "
                        "ON UPDATE CURRENT_TIMESTAMP) ENGINE=InnoDB; "
                        f"REPLACE INTO {table} (node, war) VALUES ({sql_string(node)}, {sql_string(identity)})")


def peer_reported_command(client: str, database: str, peer: str, identity: str,
                          seconds: int = PEER_WAIT_S) -> str:
    """Shell: wait (bounded) until this node's database holds PEER's report that it runs IDENTITY
    (written after its swap, so everything the new version did at its start is here too)."""
    query = _sql(client, f"SELECT war FROM {sql_ident(database)}.{ROLLOUT_TABLE} WHERE node = {sql_string(peer)}")
    why = (f"{peer} does not report the new WAR running within {seconds} s: this node keeps the old one; "
           f"see why {peer} did not come back")
    return (f"(for i in $(seq {seconds}); do [ \"$({query} 2>/dev/null)\" = {shlex.quote(identity)} ] && exit 0; "
            f"sleep 1; done; echo {shlex.quote(why)} >&2; exit 1)")


def swap_command(service: str, webapp: str, identity: str, http_port: int, client: str, database: str,
                 node: str, peer: str | None) -> str:
    """Shell: swap the staged WAR IDENTITY in on this node (NODE), after PEER (None: first) reports
    it running. Under a lock; a swap an earlier run already finished only reports again."""
    q = shlex.quote
    steps = [
        *([peer_reported_command(client, database, peer, identity)] if peer else []),
        caught_up_command(client),
        f"systemctl stop {service}",
        f"{{ [ ! -f {paths.WAR_MANIFEST} ] || while IFS= read -r f; do rm -f \"{webapp}/$f\"; done "
        f"< {paths.WAR_MANIFEST}; }}",
        f"mkdir -p {webapp}",
        f"cp -a {paths.WEBAPP_NEXT}/. {webapp}/",
        f"cp {paths.WEBAPP_NEXT_FILES} {paths.WAR_MANIFEST}",
        f"systemctl start {service}",
        qmup_command(http_port),
        f"printf '%s\\n' {q(identity)} > {paths.WAR_RUNNING}.tmp",
        f"mv {paths.WAR_RUNNING}.tmp {paths.WAR_RUNNING}",
        f"sleep {FAIL_TIMEOUT_S}",
    ]
    return (f"exec 9>{paths.WAR_SWAP_LOCK} && flock -w {LOCK_WAIT_S} 9 || "
            f"{{ echo 'another swap held {paths.WAR_SWAP_LOCK} for {LOCK_WAIT_S} s' >&2; exit 1; }}; "
            f"[ \"$(cat {paths.WEBAPP_NEXT_ID} 2>/dev/null)\" = {q(identity)} ] || "
            f"{{ echo 'the staged WAR is not {identity}: run the deploy again to stage it' >&2; exit 1; }}; "
            f"if [ \"$(cat {paths.WAR_RUNNING} 2>/dev/null)\" != {q(identity)} ]; then "
            + " && ".join(steps) + " || exit 1; fi; "
            + report_command(client, database, node, identity))


def stage(tomcat, unpacked: Path, names: list[str], identity: str, staged: str | None, web_xml: str,
          hide: list[str], exclude: list[str]) -> None:
    """The WAR unpacked at UNPACKED staged in ``paths.WEBAPP_NEXT``: another staged identity (STAGED)
    removed first, then its files, their list (NAMES), its web.xml (WEB_XML, HIDE masked in --diff),
    and its IDENTITY last."""
    if staged and staged != identity:
        files.file(name="Older staged WAR's identity removed before its files change", path=paths.WEBAPP_NEXT_ID,
                   present=False)
    files.sync(name="New WAR staged beside the running one", src=str(unpacked), dest=paths.WEBAPP_NEXT,
               user="root", group=tomcat.user, mode="0640", dir_mode="0755", delete=True, exclude=exclude)
    files.put(name="Staged WAR's file list", src=StringIO("".join(f"{n}\n" for n in names)),
              dest=paths.WEBAPP_NEXT_FILES, user="root", group="root", mode="0600", create_remote_dir=False)
    secret_file(name="Staged WAR's WEB-INF/web.xml (JDBC_URL)", path=f"{paths.WEBAPP_NEXT}/WEB-INF/web.xml",
                content=web_xml, secrets=hide, user="root", group=tomcat.user, mode="0640")
    files.put(name="Staged WAR's identity (written last)", src=StringIO(f"{identity}\n"),
              dest=paths.WEBAPP_NEXT_ID, user="root", group="root", mode="0644", create_remote_dir=False)


@operation(is_idempotent=False)
def swap(node: str, me: str, command: str):
    """NODE's swap (the staged WAR in, Tomcat restarted, QMUP awaited); a no-op on the other host.
    Called once per node in ``roll_order``, so that node A's operation runs before node B's.

    .. code:: python

        swap(name="Swap in the new WAR on node-a", node="node-a", me=host.name, command=swap_command(...))
    """
    if node != me:
        host.noop(f"{node}'s turn")
        return
    yield command

