"""Reproducible installs: the environment the tests run in is exactly the lock file."""

from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

LOCK = Path(__file__).resolve().parents[2] / "requirements.lock"


def test_every_locked_package_is_installed_at_its_locked_version():
    pins = [Requirement(line) for line in LOCK.read_text().splitlines() if line and not line.startswith("#")]
    assert pins and all(str(pin.specifier).startswith("==") for pin in pins)
    wrong = {
        pin.name: (str(pin.specifier), metadata.version(pin.name))
        for pin in pins
        if metadata.version(pin.name) != str(pin.specifier)[2:]
    }
    assert wrong == {}, "installed versions differ from requirements.lock: run `make setup` again"


def _name(requirement: Requirement) -> str:
    return requirement.name.lower().replace("_", "-")


def test_the_lock_holds_every_direct_dependency():
    locked = {_name(Requirement(line)) for line in LOCK.read_text().splitlines() if line}
    direct = [Requirement(r) for r in metadata.requires("account-management-pipeline") or []]
    missing = [r.name for r in direct if _name(r) not in locked and not r.marker]
    assert missing == []
