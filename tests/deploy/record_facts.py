"""Record the preflight facts of the lab's nodes into tests/deploy/fixtures/<platform>.json.

    python tests/deploy/record_facts.py                      # with the lab up (make lab): debian12.json
    LAB_OS=debian13 python tests/deploy/record_facts.py      # a Debian 13 lab: debian13.json

Each response is keyed by a quote-free piece of the fact's command, as the @fake connector
matches substrings of what it is asked to run. Outputs are recorded as the nodes print them.
"""

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from lab.containers import LabConfig  # noqa: E402

# matcher -> the command whose output answers it (node-specific names filled in below)
RECORDED = {
    "-release": "cd /etc/ && for file in $(ls -pdL *-release | grep -v /); do echo \"/etc/${file}\"; "
                "cat \"/etc/${file}\"; echo ---; done",
    "echo $USER": "id -un",
    "ip -j addr show": "ip -j addr show",
    "findmnt -rn": "findmnt -rn -o TARGET,SOURCE,FSTYPE; echo '-- swaps'; tail -n +2 /proc/swaps",
    "systemd-detect-virt": "systemd-detect-virt --container || true",
    "date +%s.%N": "date +%s.%N",
    "uname -s": "uname -s",
    "uname -n": "uname -n",
    "command -v hostnamectl": "command -v hostnamectl || true",
    "command -v useradd": "command -v useradd || true",
    "command -v usermod": "command -v usermod || true",
}


def record(container: str, names: list[str], peer: str) -> list[list[str]]:
    commands = dict(RECORDED)
    commands["/dev/tcp/"] = f"timeout 3 bash -c '</dev/tcp/{peer}/22' && echo open || echo closed"
    for name in names:
        commands[f"getent ahostsv4 {name} "] = f"getent ahostsv4 {name} | awk '{{print $1}}' | sort -u"
    out = []
    for matcher, command in commands.items():
        proc = subprocess.run(["docker", "exec", container, "bash", "-c", command],
                              capture_output=True, text=True, timeout=30, check=True)
        out.append([matcher, proc.stdout.rstrip("\n")])
    # docker exec comes through no SSH: a documentation address stands in for this machine's
    out.append(["SSH_CLIENT=", "203.0.113.7"])
    return out


def main() -> None:
    cfg = LabConfig.from_env()
    names = [cfg.fqdn, *(n.fqdn(cfg.domain) for n in cfg.nodes)]
    hosts = {}
    for node, peer in zip(cfg.nodes, reversed(cfg.nodes)):
        hosts[node.name] = {
            "data": {"qm_node_fqdn": node.fqdn(cfg.domain), "qm_node_address": node.address},
            "responses": record(cfg.container(node.name), names, peer.address),
        }
    # the lab inventory's own settings for a container node
    group_data = {"qm_strict_disk_layout": False, "qm_ntp_servers": []}
    fixture = {"cluster_fqdn": cfg.fqdn, "group_data": group_data, "hosts": hosts}
    (HERE / "fixtures" / f"{cfg.platform.key}.json").write_text(json.dumps(fixture, indent=1) + "\n")


if __name__ == "__main__":
    main()
