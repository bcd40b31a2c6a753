"""The switch between skipping and failing service tests (tests/conftest.py), which CI relies on.

Not marked `services`: it must hold on a bare machine too, where the rule is
what lets the suite pass on SQLite alone.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


class FakeItem:
    def __init__(self, *markers: str) -> None:
        self.keywords: dict[str, Any] = dict.fromkeys(markers, True)
        self.added: list[Any] = []

    def get_closest_marker(self, name: str) -> Any:
        return getattr(pytest.mark, name) if name in self.keywords else None

    def add_marker(self, marker: Any) -> None:
        self.added.append(marker)

    @property
    def skipped(self) -> bool:
        return any(getattr(m, "name", "") == "skip" for m in self.added)


def _root_conftest(config: pytest.Config) -> ModuleType:
    """The conftest module pytest itself loaded (importing it again would make a second copy)."""
    for plugin in config.pluginmanager.get_plugins():
        if Path(getattr(plugin, "__file__", "") or "").resolve() == ROOT_CONFTEST:
            return plugin  # type: ignore[no-any-return]
    raise AssertionError("tests/conftest.py is not loaded")


def _collect(config: pytest.Config) -> tuple[FakeItem, FakeItem]:
    service, unit = FakeItem("services"), FakeItem()
    _root_conftest(config).pytest_collection_modifyitems(config, [service, unit])
    assert not unit.skipped
    return service, unit


@pytest.fixture
def bare_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REQUIRE_SERVICES"):
        monkeypatch.delenv(name, raising=False)


def test_service_tests_are_skipped_on_a_bare_machine(request: pytest.FixtureRequest, bare_machine: None) -> None:
    service, _unit = _collect(request.config)
    assert service.skipped


def test_require_services_runs_them_so_a_missing_service_fails(
    request: pytest.FixtureRequest, bare_machine: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUIRE_SERVICES", "1")
    service, _unit = _collect(request.config)
    assert not service.skipped


@pytest.mark.parametrize(
    ("database_url", "broker_url", "skipped"),
    [
        ("postgres://postgres@127.0.0.1:5432/redress", "redis://127.0.0.1:6379/0", False),
        ("sqlite:///db.sqlite3", "redis://127.0.0.1:6379/0", True),
        ("postgres://postgres@127.0.0.1:5432/redress", "", True),
    ],
)
def test_they_run_only_when_both_services_are_configured(
    request: pytest.FixtureRequest,
    bare_machine: None,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    broker_url: str,
    skipped: bool,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CELERY_BROKER_URL", broker_url)
    service, _unit = _collect(request.config)
    assert service.skipped is skipped
