"""What the managed operations send when something is missing: the facts just read decide the
commands, one where pyinfra would send several (``operations.managed``)."""

from pyinfra.api import StringCommand

from operations.managed import account_commands, joined


def text(commands):
    return [c.get_raw_value() for c in commands]


def test_joined_commands_run_each_only_after_the_one_before_succeeded():
    assert joined([StringCommand("mkdir", "-p", "/x"), StringCommand("chmod", "700", "/x")]).get_raw_value() \
        == "mkdir -p /x && chmod 700 /x"


def test_a_missing_account_is_made_in_one_useradd():
    commands = account_commands("qmsync", None, ["root"], "/var/lib/qm-ha/sync", "/bin/sh", [], False, True, False)
    assert text(commands) == ["useradd -d /var/lib/qm-ha/sync -s /bin/sh -r -M qmsync"]


def test_a_missing_account_takes_the_group_of_its_name_when_there_is_one():
    commands = account_commands("qmsync", None, ["root", "qmsync"], "/h", None, [], False, True, False)
    assert text(commands) == ["useradd -d /h -g qmsync -r -M qmsync"]


def test_an_account_missing_a_group_is_added_to_it_keeping_its_others():
    known = {"home": "/var/lib/tomcat", "shell": "/bin/false", "groups": ["tomcat"]}
    commands = account_commands("tomcat", known, [], None, None, ["qmha-tls"], True, False, False)
    assert text(commands) == ["usermod -a -G qmha-tls tomcat"]


def test_an_account_already_as_wanted_needs_nothing():
    known = {"home": "/h", "shell": "/bin/sh", "groups": ["qmsync", "tomcat"]}
    assert account_commands("qmsync", known, [], "/h", "/bin/sh", ["tomcat"], True, True, False) == []


def test_an_account_with_another_home_is_moved_there_and_given_its_exact_groups():
    known = {"home": "/old", "shell": "/bin/sh", "groups": ["qmsync", "x"]}
    commands = account_commands("qmsync", known, [], "/new", "/bin/sh", ["qmsync"], False, True, False)
    assert text(commands) == ["usermod -d /new -G qmsync qmsync"]


def test_an_account_the_fact_cannot_describe_is_left_to_pyinfra():
    assert account_commands("x", False, [], "/h", None, [], False, True, False) is None
