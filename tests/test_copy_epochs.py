"""Which epochs of a copy keep a placement variable (placement.solvers.copy_epochs), derived by hand."""

import numpy as np

from placement.solvers.copy_epochs import copy_epochs, upload_may_bind

# Eight epochs; copy 0 serves in epochs 2 and 5, copy 1 in epoch 6 only.
ACTIVE = np.zeros((8, 2), bool)
ACTIVE[[2, 5], 0] = True
ACTIVE[6, 1] = True


def kept_epochs(opening, migration, binds=None, forced=None):
    binds = np.zeros((8, 2), bool) if binds is None else binds
    kept = copy_epochs(ACTIVE, np.asarray(opening, float), np.asarray(migration, float), binds, forced)
    return [np.flatnonzero(kept[:, copy]).tolist() for copy in range(2)]


def test_gaps_are_kept_only_where_staying_loaded_costs_less_than_an_upload():
    # Copy 0: a lead-in of 2 idle epochs (0-1) and a gap of 2 (3-4): each costs 2 f = 200 to bridge. Copy 1:
    # a lead-in of 6 idle epochs (600). After the last active epoch nothing is kept (no upload left to save).
    assert kept_epochs([100, 100], [250, 250]) == [[0, 1, 2, 3, 4, 5], [6]]
    assert kept_epochs([100, 100], [650, 650]) == [[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5, 6]]
    # 2 f = c: bridging saves nothing, so the gap goes (ties dropped)
    assert kept_epochs([100, 100], [200, 200]) == [[2, 5], [6]]
    # free copies (opening cost 0) bridge every gap, but still nothing after the last active epoch
    assert kept_epochs([0, 0], [1, 1]) == [[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5, 6]]


def test_a_link_that_could_bind_at_the_next_active_epoch_keeps_the_gap_before_it():
    binds = np.zeros((8, 2), bool)
    binds[5, 0] = True  # an upload at epoch 5 could crowd copy 0's host link: the gap 3-4 stays, 0-1 goes
    assert kept_epochs([100, 100], [50, 50], binds) == [[2, 3, 4, 5], [6]]


def test_forced_copies_are_kept_wherever_they_are():
    forced = np.zeros((8, 2), bool)
    forced[7, 0] = True
    assert kept_epochs([100, 100], [50, 50], forced=forced) == [[2, 5, 7], [6]]


def test_upload_may_bind_adds_every_copy_of_a_host():
    # One host with 8 of 10 bits/s used by requests; two copies of models uploading 1 and 2 bits/s.
    link = np.array([[10.0]])
    load = np.array([[8.0]])
    uploads = np.array([[1.0, 2.0]])
    assert upload_may_bind(link, load, uploads, np.array([0]), np.array([0])).tolist() == [[False]]  # 9 <= 10
    assert upload_may_bind(link, load, uploads, np.array([0, 1]), np.array([0, 0])).tolist() == [[True, True]]
    assert upload_may_bind(np.array([[np.inf]]), load, uploads, np.array([0, 1]), np.array([0, 0])).tolist() \
        == [[False, False]]
