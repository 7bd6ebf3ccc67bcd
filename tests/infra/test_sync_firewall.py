"""The sync and the security envelope on each node: what a person would check after install."""

from operations.phases.sync import HOME, KEY, KNOWN_HOSTS, SCRIPT, SERVE


def test_sync_runs_from_cron_every_minute(node):
    cron = node.file("/etc/cron.d/qmha-sync")
    assert cron.exists and cron.user == "root"
    assert f"* * * * * root {SCRIPT} pull" in cron.content_string


def test_sync_path_units_watch_and_are_enabled(node):
    for unit in ("qmha-sync-pull.path", "qmha-sync-poke.path"):
        service = node.service(unit)
        assert service.is_enabled and service.is_running


def test_sync_private_key_is_roots_only(node):
    key = node.file(KEY)
    assert key.user == "root" and key.mode == 0o600


def test_peer_key_is_bound_to_the_peer_address_and_the_sync_command(node, spec):
    line = node.file(f"{HOME}/.ssh/authorized_keys").content_string.strip()
    assert line.startswith(f'from="{spec.peer.address}",command="{SERVE}",restrict ssh-ed25519 ')
    assert len(line.splitlines()) == 1


def test_peer_host_key_is_pinned(node, spec):
    assert node.file(KNOWN_HOSTS).content_string.startswith(f"{spec.peer.address} ssh-")


def test_sync_user_cannot_log_in_with_a_password(node):
    assert node.check_output("passwd -S qmsync").split()[1] in ("L", "LK", "NP")


def test_database_and_tomcat_ports_open_to_the_peer_only(node, spec, platform):
    if platform.firewall == "nftables":
        rules = node.check_output("nft list table inet qmha")
        assert "policy drop;" in rules
        assert f"ip saddr {spec.peer.address} tcp dport {{ 3306, 8443 }} accept" in rules
    else:
        rich = node.check_output("firewall-cmd --list-rich-rules")
        assert f'source address="{spec.peer.address}" port port="3306"' in rich
