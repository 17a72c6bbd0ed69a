"""Transcript checks shared by the client-program tests (Curator, Go).

A client program prints one line per observation; each server's transcript
must equal the expected one (Apache ZooKeeper 3.8's, written down, so a
behaviour both servers got wrong still fails), and the candidate's must
equal ZooKeeper's from the same run.
"""

from __future__ import annotations

import difflib

import pytest


def diff(a: list[str], b: list[str], a_name: str, b_name: str) -> str:
    return "\n".join(difflib.unified_diff(a, b, a_name, b_name, lineterm="", n=2))


def assert_expected(client: str, kind: str, got: list[str], expected: list[str], problem: str) -> None:
    """`got` (from `kind`) is exactly `expected`, and the program ran cleanly."""
    if got != expected:
        pytest.fail(
            f"{client} transcript on {kind} differs from the expected one:\n"
            f"{diff(expected, got, 'expected', kind)}\n{problem}",
            pytrace=False,
        )
    assert not problem, problem


def assert_matches_oracle(client: str, oracle: list[str], got: list[str], kind: str) -> None:
    """The candidate's transcript equals Apache ZooKeeper's."""
    assert oracle, "no transcript from Apache ZooKeeper"
    if got != oracle:
        pytest.fail(
            f"{client} transcript: {kind} differs from Apache ZooKeeper:\n{diff(oracle, got, 'zookeeper', kind)}",
            pytrace=False,
        )
