"""The cores a run may use under a container's CPU quota (cgroup v1 and v2), read from a cgroup tree made here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kaggle_kit.runtime import threads
from kaggle_kit.runtime.threads import cpu_quota


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_v2_quota_is_the_tightest_of_the_cgroup_and_those_above_it(tmp_path: Path) -> None:
    root, membership = tmp_path / "cgroup", tmp_path / "self_cgroup"
    _write(membership, "0::/kubepods/pod1\n")
    _write(root / "kubepods" / "pod1" / "cpu.max", "250000 100000\n")
    assert cpu_quota(root, membership) == 2.5
    _write(root / "kubepods" / "cpu.max", "150000 100000\n")  # a parent's limit applies too
    assert cpu_quota(root, membership) == 1.5
    _write(root / "kubepods" / "cpu.max", "max 100000\n")
    _write(root / "kubepods" / "pod1" / "cpu.max", "max 100000\n")
    assert cpu_quota(root, membership) is None  # no quota anywhere


def test_a_container_seeing_its_cgroup_as_root_reads_the_root_file(tmp_path: Path) -> None:
    root, membership = tmp_path / "cgroup", tmp_path / "self_cgroup"
    _write(membership, "0::/\n")
    _write(root / "cpu.max", "400000 100000\n")
    assert cpu_quota(root, membership) == 4.0


@pytest.mark.parametrize("mount", ["cpu,cpuacct", "cpuacct,cpu", "cpu"])
def test_a_v1_quota_is_read_from_the_cpu_hierarchy(tmp_path: Path, mount: str) -> None:
    root, membership = tmp_path / "cgroup", tmp_path / "self_cgroup"
    _write(membership, "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n")
    folder = root / mount / "docker" / "abc"
    _write(folder / "cpu.cfs_quota_us", "200000\n")
    _write(folder / "cpu.cfs_period_us", "100000\n")
    _write(root / "memory" / "docker" / "abc" / "cpu.cfs_quota_us", "100000\n")  # another controller's: not read
    assert cpu_quota(root, membership) == 2.0
    _write(folder / "cpu.cfs_quota_us", "-1\n")
    assert cpu_quota(root, membership) is None


def test_a_v1_container_seeing_its_cgroup_as_root_reads_the_mounts_own_files(tmp_path: Path) -> None:
    """Docker on cgroup v1 without a cgroup namespace: /proc/self/cgroup names ``/docker/abc``, while the mount shows
    the container's own cgroup as its root (no ``docker/abc`` folder under it)."""
    root, membership = tmp_path / "cgroup", tmp_path / "self_cgroup"
    _write(membership, "4:cpu,cpuacct:/docker/abc\n")
    _write(root / "cpu,cpuacct" / "cpu.cfs_quota_us", "150000\n")
    _write(root / "cpu,cpuacct" / "cpu.cfs_period_us", "100000\n")
    assert cpu_quota(root, membership) == 1.5


def test_only_the_cpu_controllers_lines_are_read(tmp_path: Path) -> None:
    """A hybrid system: the v2 line (``0::/...``, no cpu.max under a v1 root) and v1 lines of other controllers whose
    names hold "cpu" (``cpuset``, ``cpuacct`` mounted apart) name cgroups whose cpu hierarchy folders are not this
    process's: only the ``cpu`` line's are read."""
    root, membership = tmp_path / "cgroup", tmp_path / "self_cgroup"
    _write(membership, "9:cpuset:/other\n2:cpuacct:/elsewhere\n1:cpu:/mine\n0::/user.slice\n")
    for name, quota in (("other", "50000"), ("elsewhere", "50000"), ("mine", "300000")):
        _write(root / "cpu" / name / "cpu.cfs_quota_us", f"{quota}\n")
        _write(root / "cpu" / name / "cpu.cfs_period_us", "100000\n")
    assert cpu_quota(root, membership) == 3.0


def test_a_cgroup_path_is_read_whole_and_never_above_the_mount(tmp_path: Path) -> None:
    """A path holding a colon is one path; a process outside the cgroup namespace (``0::/../../sibling``) reads no
    file above the mount (its root's limit applies)."""
    root, membership = tmp_path / "cgroup", tmp_path / "self_cgroup"
    _write(membership, "0::/lxc.payload:c1\n")
    _write(root / "lxc.payload:c1" / "cpu.max", "200000 100000\n")
    assert cpu_quota(root, membership) == 2.0
    _write(membership, "0::/../sibling\n")
    _write(root / "cpu.max", "400000 100000\n")
    _write(tmp_path / "sibling" / "cpu.max", "100000 100000\n")  # outside the mount: not this process's
    assert cpu_quota(root, membership) == 4.0


def test_no_readable_cgroup_is_no_quota(tmp_path: Path) -> None:
    assert cpu_quota(tmp_path / "none", tmp_path / "missing") is None
    _write(tmp_path / "self_cgroup", "0::/a\n")
    _write(tmp_path / "cgroup" / "a" / "cpu.max", "garbage\n")
    assert cpu_quota(tmp_path / "cgroup", tmp_path / "self_cgroup") is None


@pytest.mark.parametrize(
    ("quota", "expected"), [(None, 16), (2.0, 2), (1.5, 2), (2.5, 3), (0.5, 1), (0.01, 1), (0.0, 1), (64.0, 16)]
)
def test_the_run_uses_no_more_cores_than_its_quota(
    monkeypatch: pytest.MonkeyPatch, quota: float | None, expected: int
) -> None:
    """A container's ``--cpus 2`` on a 16-core host: 2 workers, not 16 (a part core counts as one)."""
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda _pid: set(range(16)), raising=False)
    monkeypatch.setattr(threads, "cpu_quota", lambda: quota)
    assert threads.cpu_count() == expected


def _host(monkeypatch: pytest.MonkeyPatch, quota: float | None) -> None:
    """A 16-core host (the affinity mask) under ``quota``."""
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda _pid: set(range(16)), raising=False)
    monkeypatch.setattr(threads, "cpu_quota", lambda: quota)


@pytest.mark.parametrize(
    ("quota", "host_busy", "others"),
    [(2.0, 0.5, 0.0), (2.0, 15 / 16, 1.0), (2.0, 1.0, 2.0), (None, 0.5, 8.0), (None, 1.0, 16.0)],
)
def test_other_processes_take_a_quotas_cores_only_where_they_leave_fewer_free(
    monkeypatch: pytest.MonkeyPatch, quota: float | None, host_busy: float, others: float
) -> None:
    """/proc/stat reads the host's cores: a 2-core container on a 16-core host half busy with other work has its 2
    cores free (the host's busy share had been scaled to the quota: 1 core of 2 taken, 1 thread a task); a host
    busy but for one core leaves it 1; without a quota the host's load counts whole, as before."""
    _host(monkeypatch, quota)
    me = os.getpid()
    before = threads.CpuSample(at=0.0, busy=0, total=1000, own={me: 0}, boot_age=1e12)
    now = threads.CpuSample(at=5.0, busy=int(1000 * host_busy), total=2000, own={me: 0}, boot_age=1e12)
    load = threads.measured_load(before, now)
    assert (load.cores, load.own, load.others) == (16 if quota is None else 2, 0.0, pytest.approx(others, abs=0.02))
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (16 * host_busy, 0.0, 0.0))
    monkeypatch.setattr(threads, "_process_age", lambda: None)  # this process's share of the load average: none
    fallback = threads._load_average()
    assert (fallback.cores, fallback.others) == (load.cores, pytest.approx(others, abs=0.02))
