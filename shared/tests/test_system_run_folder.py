"""The run folder of `make run` is one run's at a time; its keys are never silently replaced (outside pass, #22)."""

import json
import subprocess
import sys

import pytest

from shared.system import dev_secrets, hold_run_dir


def test_a_second_run_on_the_same_folder_is_refused_with_what_to_do(tmp_path):
    first = hold_run_dir(tmp_path)
    try:
        with pytest.raises(RuntimeError, match="another run uses .* stop them first"):
            hold_run_dir(tmp_path)
    finally:
        first.close()
    hold_run_dir(tmp_path).close()  # free again once the first run ended


def test_processes_a_run_left_behind_keep_the_folder_taken(tmp_path):
    """A child that inherited the lock (a service of a run that was killed) still holds it."""
    lock = hold_run_dir(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE,
                             pass_fds=(lock.fileno(),))  # fmt: skip
    lock.close()  # the run itself is gone
    try:
        with pytest.raises(RuntimeError, match="processes an interrupted run left behind"):
            hold_run_dir(tmp_path)
    finally:
        child.communicate(b"")
    hold_run_dir(tmp_path).close()


def test_missing_keys_beside_stored_data_are_not_replaced_by_new_ones(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "submissions.sqlite").write_bytes(b"")
    with pytest.raises(RuntimeError, match="dev-secrets.json is missing, but .* holds data"):
        dev_secrets(tmp_path)
    assert not (tmp_path / "dev-secrets.json").exists()


def test_a_new_folder_gets_its_keys_once(tmp_path):
    made = dev_secrets(tmp_path)
    assert set(made) == {"CIPHER_KEY", "RECEIPT_SIGNING_KEY", "BACKOFFICE_SIGNING_KEY", "GATEWAY_SECRET"}
    assert json.loads((tmp_path / "dev-secrets.json").read_text()) == made == dev_secrets(tmp_path)


def test_a_folder_of_an_older_release_gets_the_keys_it_lacks_and_keeps_its_own(tmp_path):
    """A run folder from before the CSRF key was kept: a restart of `make run` no longer voids open forms."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "submissions.sqlite").write_bytes(b"")
    (tmp_path / "dev-secrets.json").write_text(json.dumps({"CIPHER_KEY": "old", "RECEIPT_SIGNING_KEY": "kept"}))
    made = dev_secrets(tmp_path)
    assert made["CIPHER_KEY"] == "old" and made["RECEIPT_SIGNING_KEY"] == "kept"
    assert made["GATEWAY_SECRET"] and made["BACKOFFICE_SIGNING_KEY"]
    assert dev_secrets(tmp_path) == made  # made once, then kept
