"""Settings, and reading them from ``[tool.loopsafe]`` in the nearest ``pyproject.toml``.

    [tool.loopsafe]
    native-sleep = true            # time.sleep(x) -> await asyncio.sleep(x); false: to_thread
    exclude = ["migrations/*", "legacy_*.py"]
    ignore = ["os.listdir"]        # catalog entries to leave alone
    [tool.loopsafe.blocking]       # extra blocking callables: name = strategy
    "mylib.client.fetch" = "to_thread"
    "mylib.db.connect" = "report"
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

from codemods.catalog import BlockingCall, build_index, user_entry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib


class ConfigError(Exception):
    """A user mistake in the configuration; shown without a traceback."""


@dataclass(frozen=True)
class Settings:
    native_sleep: bool = True
    exclude: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extra: tuple[BlockingCall, ...] = ()
    #: The file the settings came from, if any (for messages).
    source: Path | None = field(default=None, compare=False)

    @cached_property
    def index(self) -> dict[str, BlockingCall]:
        return build_index(self.extra, self.ignore)


_KEYS = {"native-sleep", "exclude", "ignore", "blocking"}


def settings_from_table(table: Mapping[str, Any], source: Path | None = None) -> Settings:
    """Validate a ``[tool.loopsafe]`` table. Raises ``ConfigError`` naming the bad key."""
    where = f"{source}: [tool.loopsafe]" if source else "[tool.loopsafe]"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")
    native_sleep = table.get("native-sleep", True)
    if not isinstance(native_sleep, bool):
        raise ConfigError(f"{where}: native-sleep must be true or false")
    exclude = _string_list(table, "exclude", where)
    ignore = _string_list(table, "ignore", where)
    blocking = table.get("blocking", {})
    if not isinstance(blocking, dict):
        raise ConfigError(f"{where}: blocking must be a table of name = strategy")
    extra = []
    for name, strategy in blocking.items():
        if not isinstance(strategy, str):
            raise ConfigError(f"{where}: blocking.{name} must be a string strategy")
        try:
            extra.append(user_entry(name, strategy))
        except ValueError as error:
            raise ConfigError(f"{where}: blocking: {error}") from None
    return Settings(native_sleep, tuple(exclude), tuple(ignore), tuple(extra), source)


def _string_list(table: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return value


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` with a ``[tool.loopsafe]`` table, from ``start`` up."""
    start = start.resolve()
    for folder in (start, *start.parents) if start.is_dir() else start.parents:
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and "loopsafe" in _read_toml(candidate).get("tool", {}):
            return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None


def load_settings(start: Path, config: Path | None = None) -> Settings:
    """Settings from ``config`` if given, else from the nearest pyproject.toml, else defaults."""
    path = config if config is not None else find_pyproject(start)
    if path is None:
        return Settings()
    table = _read_toml(path).get("tool", {}).get("loopsafe", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.loopsafe] must be a table")
    return settings_from_table(table, path)
