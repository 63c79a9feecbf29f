"""What each dbt invocation leaves behind: dagster-dbt's folder per invocation is pruned."""

from __future__ import annotations

import os
import time

from pipelines.transforms.assets import IN_USE_SECONDS, prune_invocation_folders


def test_old_invocation_folders_are_pruned_recent_and_other_folders_kept(tmp_path):
    day_ago = time.time() - IN_USE_SECONDS - 60
    old = []
    for i in range(6):
        folder = tmp_path / f"worth_and_loyalty-{i:07d}-abcdef{i}"
        (folder / "compiled").mkdir(parents=True)
        os.utime(folder, (day_ago - i, day_ago - i))  # folder 0 the newest of the old ones
        old.append(folder)
    recent = tmp_path / "modules_and_risk-1234567-fedcba9"
    recent.mkdir()
    kept_anyway = [tmp_path / "compiled", tmp_path / "run"]  # dbt's own, not an invocation's
    for folder in kept_anyway:
        folder.mkdir()
        os.utime(folder, (day_ago, day_ago))

    prune_invocation_folders(tmp_path, keep=3)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [recent.name, old[0].name, old[1].name, "compiled", "run"]
    )


def test_a_folder_another_run_may_still_use_is_kept_beyond_the_count(tmp_path):
    for i in range(4):
        (tmp_path / f"modules_and_risk-{i:07d}-0000000").mkdir()  # all written just now
    prune_invocation_folders(tmp_path, keep=1)
    assert len(list(tmp_path.iterdir())) == 4
