"""The cores a run may use under a container's CPU quota (cgroup v1 and v2), read from a cgroup tree made here."""

from __future__ import annotations

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


@pytest.mark.parametrize("mount", ["cpu,cpuacct", "cpu"])
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


def test_no_readable_cgroup_is_no_quota(tmp_path: Path) -> None:
    assert cpu_quota(tmp_path / "none", tmp_path / "missing") is None
    _write(tmp_path / "self_cgroup", "0::/a\n")
    _write(tmp_path / "cgroup" / "a" / "cpu.max", "garbage\n")
    assert cpu_quota(tmp_path / "cgroup", tmp_path / "self_cgroup") is None


@pytest.mark.parametrize(("quota", "expected"), [(None, 16), (2.0, 2), (1.5, 2), (0.5, 1), (64.0, 16)])
def test_the_run_uses_no_more_cores_than_its_quota(
    monkeypatch: pytest.MonkeyPatch, quota: float | None, expected: int
) -> None:
    """A container's ``--cpus 2`` on a 16-core host: 2 workers, not 16 (a part core counts as one)."""
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda _pid: set(range(16)), raising=False)
    monkeypatch.setattr(threads, "cpu_quota", lambda: quota)
    assert threads.cpu_count() == expected
