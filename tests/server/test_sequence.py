from server.sequence import SequenceTracker


def test_sequence_remote_updates_apply_in_order() -> None:
    tracker = SequenceTracker(4)
    assert tracker.offer(6, b"six") == []
    assert tracker.has_gap
    assert tracker.offer(5, b"five") == [b"five", b"six"]
    assert tracker.contiguous == 6 and not tracker.has_gap


def test_sequence_duplicates_and_old_updates_are_ignored() -> None:
    tracker = SequenceTracker(4)
    assert tracker.offer(4, b"four") == []
    assert tracker.offer(5, b"five") == [b"five"]
    assert tracker.offer(5, b"five") == []


def test_sequence_own_commits_fill_holes_for_remote_updates() -> None:
    tracker = SequenceTracker(0)
    assert tracker.offer(3, b"three") == []
    assert tracker.record_own(1, 2) == [b"three"]
    assert tracker.contiguous == 3


def test_sequence_own_commit_past_a_hole_waits_for_it() -> None:
    tracker = SequenceTracker(0)
    assert tracker.record_own(2, 3) == []
    assert tracker.contiguous == 0 and tracker.ahead == {2, 3}
    assert tracker.offer(1, b"one") == [b"one"]
    assert tracker.contiguous == 3
    assert tracker.offer(2, b"two") == []  # we already hold our own


def test_sequence_marker_asks_for_sql_and_rebase_clears_it() -> None:
    tracker = SequenceTracker(2)
    assert tracker.offer(7, b"") == []
    assert tracker.has_gap
    assert tracker.offer(9, b"nine") == []
    assert tracker.rebase(8) == [b"nine"]
    assert tracker.contiguous == 9 and not tracker.has_gap
