"""Behaviour tests against the running lab. ``PLATFORM``: the platform row of the lab's nodes
(``LAB_OS``), for the units and paths the tests look at."""

from lab.containers import LabConfig

PLATFORM = LabConfig.from_env().platform
