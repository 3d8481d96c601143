"""The quarantine order's status machine: the legal path, no illegal move, a positive
becomes a case exactly once, lost and found again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.errors import InvalidInput
from fangkong.quarantine.status import (
    ACTIVE,
    MOVES,
    TERMINAL,
    IllegalTransition,
    OrderStatus,
    initial_status,
    move,
    replay,
)

AT = datetime(2022, 3, 20, 8, 0, tzinfo=UTC)
S = OrderStatus


def step(current: OrderStatus, to: OrderStatus, **kw: object) -> OrderStatus:
    return move(current, to, at=AT, by="worker", why="test", **kw).to_status  # type: ignore[arg-type]


def test_the_path_of_a_close_contact() -> None:
    status = initial_status("centralized")
    assert status is S.pending_transfer
    for to in (S.in_quarantine, S.released, S.in_home_monitoring, S.completed):
        status = step(status, to)
    assert status is S.completed
    assert initial_status("home_isolation") is S.in_quarantine


def test_released_without_home_monitoring_completes() -> None:
    assert step(S.released, S.completed) is S.completed


@pytest.mark.parametrize(
    ("current", "to"),
    [
        (S.pending_transfer, S.released),  # never quarantined
        (S.in_quarantine, S.completed),  # released first
        (S.completed, S.in_quarantine),
        (S.converted, S.in_quarantine),
        (S.released, S.lost),  # a released person is no longer followed until monitoring
    ],
)
def test_illegal_moves_are_refused(current: OrderStatus, to: OrderStatus) -> None:
    with pytest.raises(IllegalTransition) as error:
        step(current, to)
    assert error.value.code == "illegal_transition"
    assert error.value.details == {"from_status": current.value, "to_status": to.value}


def test_a_positive_becomes_a_case_exactly_once() -> None:
    status = step(S.in_quarantine, S.converted)
    assert status in TERMINAL
    with pytest.raises(IllegalTransition):
        step(status, S.converted)


def test_lost_and_found_again_resumes_where_it_was() -> None:
    lost = step(S.in_home_monitoring, S.lost)
    assert step(lost, S.in_home_monitoring, resumes=S.in_home_monitoring) is S.in_home_monitoring
    with pytest.raises(IllegalTransition, match="resumes"):
        step(lost, S.in_quarantine, resumes=S.in_home_monitoring)
    with pytest.raises(IllegalTransition, match="needs the status"):
        step(lost, S.in_quarantine)
    assert step(lost, S.converted) is S.converted


def test_every_move_says_who_when_and_why() -> None:
    with pytest.raises(InvalidInput, match="who"):
        move(S.in_quarantine, S.released, at=AT, by=" ", why="day 7 negative")
    with pytest.raises(InvalidInput, match="zone"):
        move(S.in_quarantine, S.released, at=datetime(2022, 3, 20), by="w", why="x")  # noqa: DTZ001


@given(st.lists(st.sampled_from(list(OrderStatus)), max_size=12))
def test_a_random_walk_only_follows_the_moves(targets: list[OrderStatus]) -> None:
    status, before_lost, record = S.pending_transfer, None, []
    for i, to in enumerate(targets):
        legal = to in MOVES[status] and (status is not S.lost or to in (S.converted, before_lost))
        try:
            t = move(
                status, to, at=AT + timedelta(minutes=i), by="w", why="walk", resumes=before_lost
            )
        except IllegalTransition:
            assert not legal
            continue
        assert legal
        record.append(t)
        if to is S.lost:
            before_lost = status
        status = to
        assert status in ACTIVE or status in TERMINAL
    assert replay(S.pending_transfer, record) is status


def test_replay_refuses_a_broken_record() -> None:
    t = move(S.in_quarantine, S.released, at=AT, by="w", why="x")
    with pytest.raises(IllegalTransition, match="jumps"):
        replay(S.pending_transfer, [t])
