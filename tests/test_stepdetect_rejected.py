"""stepdetect.rejected.Rejected: one path's rejected candidates, in time order, pruned by age,
looked up by bisection."""

from __future__ import annotations

from stepdetect.rejected import Rejected


def test_a_candidate_decided_out_of_time_order_is_kept_in_order_and_found() -> None:
    store = Rejected(keep_s=4.0)
    for t, salience in ((1.0, 0.5), (2.0, 0.9), (1.5, 0.2)):  # 1.5 s decided after 2.0 s
        store.add(t, salience)
    assert list(store._times) == [1.0, 1.5, 2.0] and list(store._salience) == [0.5, 0.2, 0.9]
    assert store.heard(1.52, 0.025) and store.heard(1.475, 0.025)  # the tolerance is inclusive
    assert not store.heard(1.75, 0.025)


def test_the_salience_bar_is_strict_and_any_candidate_in_reach_may_meet_it() -> None:
    store = Rejected(keep_s=4.0)
    store.add(3.00, 0.6)
    store.add(3.01, 0.3)
    assert store.heard(3.0, 0.025, max_salience=0.31)  # the second one, 10 ms on, is under the bar
    assert not store.heard(3.0, 0.025, max_salience=0.3)  # strictly below: 0.3 is not
    assert not store.heard(3.0, 0.005, max_salience=0.31)  # and out of reach at 5 ms
    assert store.heard(3.0, 0.005)  # no bar: any candidate in reach


def test_pruning_forgets_what_is_more_than_keep_s_old_and_keeps_the_boundary() -> None:
    store = Rejected(keep_s=4.0)
    for t in (0.5, 1.0, 1.5):
        store.add(t, 0.0)
    store.prune(5.0)  # 0.5 s is 4.5 s old: gone; 1.0 s is exactly 4 s old: kept
    assert list(store._times) == [1.0, 1.5]
    assert not store.heard(0.5, 0.025) and store.heard(1.0, 0.0)
