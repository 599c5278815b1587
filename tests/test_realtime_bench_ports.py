"""The realtime benchmark's servers listen on free ports, not on a fixed one that
another run (or anything else on the machine) may hold."""

from __future__ import annotations

import socket

import pytest

from bench.realtime import runner
from bench.realtime.processes import free_ports


def test_it_picks_five_different_free_ports_around_one_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        one, two, peer = runner._ports(None)
        chosen = [one, *two, *peer]
        assert len(set(chosen)) == 5 and busy not in chosen
    for port in chosen:
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))  # each is free to listen on


def test_given_ports_are_used_as_they_are_and_must_differ() -> None:
    assert runner._ports([9001, 9002, 9003, 9004, 9005]) == (9001, [9002, 9003], (9004, 9005))
    with pytest.raises(ValueError, match="five different ports"):
        runner._ports([9001, 9001, 9003, 9004, 9005])
    assert len(set(free_ports(3))) == 3
