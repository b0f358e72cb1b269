"""Modules and classes a project declares blocking (``[tool.loopsafe] blocking =
["wechatpy.*"]``): what a pattern covers, its validation, the screen, the cache on a
warm run after the configuration changes, and the fixit rule and the language server
reading the same settings. What is found and how it is fixed is in the fixture cases
``declared_*`` (tests/fixtures/LS200, LS301, mixed, none)."""

from __future__ import annotations

import ast
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from codemods.analysis import screen
from codemods.catalog import Strategy
from codemods.cli import main
from codemods.config import ConfigError, Settings, load_settings, settings_from_table
from codemods.declared import DeclaredBlocking, DeclaredPattern, is_class_name
from codemods.engine import transform_source

AN_HOUR_AGO = time.time() - 3600

ORDERS = '''\
from vendor import Client


async def sync_orders(key: str) -> list:
    client = Client(key)
    return client.list_orders()
'''


def _findings(source: str, settings: Settings) -> list[tuple[int, str, bool, str]]:
    return [(f.line, f.code, f.fixable, f.name) for f in transform_source(source.encode(), settings).findings]


def _project(tmp_path: Path, loopsafe_table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.loopsafe]\n{loopsafe_table}")
    module = tmp_path / "orders.py"
    module.write_text(ORDERS)
    os.utime(module, (AN_HOUR_AGO, AN_HOUR_AGO))  # older than the cache's racy window
    return module


# -- what a pattern covers -------------------------------------------------------------------


def test_a_pattern_covers_its_name_and_the_names_under_it_at_dot_boundaries() -> None:
    declared = DeclaredBlocking([DeclaredPattern("wechatpy")])
    assert declared.entry("wechatpy.WeChatClient") is not None
    assert declared.entry("wechatpy.client.api.WeChatMessage.send_text") is not None
    assert declared.entry("wechatpyx.WeChatClient") is None
    assert declared.entry("wechat.WeChatClient") is None
    assert declared.entry("app.wechatpy.send") is None  # the project's own module of that name
    assert declared.entry("wechatpy.exceptions.WeChatClientException") is None  # making an exception


def test_the_most_specific_pattern_decides_and_ignored_names_are_not_covered() -> None:
    declared = DeclaredBlocking(
        [DeclaredPattern("vendor", Strategy.REPORT), DeclaredPattern("vendor.cache")], ignore=["vendor.cache.peek"]
    )
    connect, lookup = declared.entry("vendor.connect"), declared.entry("vendor.cache.lookup")
    assert connect is not None and connect.strategy is Strategy.REPORT and connect.code == "LS200"
    assert lookup is not None and lookup.strategy is Strategy.TO_THREAD
    assert declared.entry("vendor.cache.peek") is None


def test_only_classes_type_the_objects_they_make() -> None:
    declared = DeclaredBlocking([DeclaredPattern("vendor")])
    client = declared.instance_type("vendor.Client")
    assert client is not None and client is declared.instance_type("vendor.Client")  # one type per class
    assert declared.instance_type("vendor.make_client") is None  # a function: what it returns is unknown
    assert declared.instance_type("vendor.ApiError") is None
    assert [is_class_name(n) for n in ("a.Client", "a.client", "a.HTTPError", "a._Hidden")] == [True, False, False, False]


def test_ignore_may_name_what_a_pattern_covers() -> None:
    settings = settings_from_table({"blocking": ["vendor.Client.*"], "ignore": ["vendor.Client.list_orders"]})
    assert _findings(ORDERS, settings) == [(5, "LS200", True, "vendor.Client")]
    with pytest.raises(ConfigError, match="'vendr.Client.list_orders' is neither"):  # no pattern covers it
        settings_from_table({"blocking": ["vendor.Client.*"], "ignore": ["vendr.Client.list_orders"]})


def test_the_list_and_the_table_say_the_same() -> None:
    listed = settings_from_table({"blocking": ["vendor.Client.*", "mylib.fetch"]})
    table = settings_from_table({"blocking": {"vendor.Client.*": "to_thread", "mylib.fetch": "to_thread"}})
    assert listed == table
    assert listed.declared == (DeclaredPattern("vendor.Client"),)
    assert [entry.qualname for entry in listed.extra] == ["mylib.fetch"]
    reported = settings_from_table({"blocking": {"vendor.*": "report"}})
    assert [(code, fixable) for _, code, fixable, _ in _findings(ORDERS, reported)] == [("LS200", False)] * 2


def test_without_a_pattern_nothing_is_found() -> None:
    assert _findings(ORDERS, Settings()) == []
    assert _findings(ORDERS, settings_from_table({"blocking": ["vendor.Other.*"]})) == []


# -- validation: a ConfigError naming the file, the key and the value -------------------------


@pytest.mark.parametrize("value, says", [
    ('["wechatpy.**"]', "'wechatpy.**' is not a pattern"),
    ('["*"]', "'*' is not a pattern"),
    ('["vendor.*.Client"]', "not a dotted name: 'vendor.*.Client'"),
    ('["vendor.Cli*"]', "'vendor.Cli*' is not a pattern"),
    ('["asyncio.*"]', "'asyncio.*' covers the event loop"),
    ('["vendor.*", 3]', "must be a list of names and patterns"),
    ('{"vendor.*" = "native"}', "only available for built-in entries (vendor)"),
    ('{"vendor.*" = "later"}', "unknown strategy 'later'"),
    ("3", "must be a list of names and patterns"),
])
def test_a_bad_pattern_is_a_config_error_naming_file_key_and_value(tmp_path: Path, value: str, says: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.loopsafe]\nblocking = {value}\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'pyproject.toml'}: [tool.loopsafe]: blocking")
    assert says in message


# -- the screen and the cache ------------------------------------------------------------------


def test_the_screen_lets_a_module_that_uses_a_declared_module_through() -> None:
    tree = ast.parse(ORDERS)
    assert not screen.may_need_transform(tree, Settings().screen_names)
    assert screen.may_need_transform(tree, settings_from_table({"blocking": ["vendor.*"]}).screen_names)
    assert screen.may_need_transform(tree, settings_from_table({"blocking": ["vendor.Client.*"]}).screen_names)
    assert not screen.may_need_transform(tree, settings_from_table({"blocking": ["vendorx.*"]}).screen_names)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The project's Python sources read while the test runs."""
    seen: list[str] = []
    original = Path.read_bytes

    def counting(self: Path) -> bytes:
        if self.suffix == ".py" and self.resolve().is_relative_to(tmp_path.resolve()):
            seen.append(self.name)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    return seen


def test_a_warm_run_after_the_patterns_change_finds_what_they_cover(
    tmp_path: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _project(tmp_path, "")
    monkeypatch.chdir(tmp_path)

    def check() -> tuple[int, str]:
        result = CliRunner().invoke(main, ["check", str(module)])
        return result.exit_code, result.output

    assert check()[0] == 0
    reads.clear()
    assert check()[0] == 0 and reads == []  # warm: the cache answers
    (tmp_path / "pyproject.toml").write_text('[tool.loopsafe]\nblocking = ["vendor.Client.*"]\n')
    code, output = check()
    assert code == 1 and "LS200" in output and "vendor.Client.list_orders" in output
    assert reads == ["orders.py"]
    reads.clear()
    assert check() == (code, output) and reads == []  # warm again, with the new patterns
    (tmp_path / "pyproject.toml").write_text('[tool.loopsafe]\nblocking = ["vendor.Other.*"]\n')
    assert check()[0] == 0


# -- the fixit rule and the language server read the same settings -----------------------------


def test_the_fixit_rule_finds_a_declared_call(tmp_path: Path) -> None:
    from fixit.engine import LintRunner
    from fixit.ftypes import Config

    from codemods import lint

    module = _project(tmp_path, 'blocking = ["vendor.Client.*"]\n')
    lint._settings_for.cache_clear()  # read the pyproject.toml written above
    try:
        runner = LintRunner(module, module.read_bytes())
        violations = list(runner.collect_violations([lint.BlockingCallInCoroutine()], Config(path=module)))
    finally:
        lint._settings_for.cache_clear()
    assert [(v.range.start.line, v.message.split()[0]) for v in violations] == [(5, "LS200"), (6, "LS200")]
    fixed = runner.apply_replacements(violations).bytes.decode()
    assert "await asyncio.to_thread(client.list_orders)" in fixed


def test_the_language_server_finds_a_declared_call(tmp_path: Path) -> None:
    from codemods import server

    module = _project(tmp_path, 'blocking = ["vendor.Client.*"]\n')
    located, problem = server._analyse(ORDERS, str(module))
    assert problem is None
    assert [(finding.line, finding.code, finding.name) for finding, _ in located] == [
        (5, "LS200", "vendor.Client"), (6, "LS200", "vendor.Client.list_orders"),
    ]
