"""The catalog is data: each entry is well formed, and each fact is stated once."""

from __future__ import annotations

from collections import Counter

import pytest

from codemods.catalog import (
    CANCELLATION,
    CATALOG,
    CATEGORIES,
    FILE_LIKE,
    HOLDS_PROCESS_STATE,
    SAFE_CONTEXT_MANAGERS,
    THREAD_SAFE,
    TYPES,
    BlockingType,
    Strategy,
    build_annotation_index,
    build_constructor_index,
    build_index,
    method_entry,
    names_method,
    returned_type,
    user_entry,
)


def test_each_callable_is_listed_once() -> None:
    repeated = [name for name, count in Counter(e.qualname for e in CATALOG).items() if count > 1]
    assert repeated == []


@pytest.mark.parametrize("entry", CATALOG, ids=[e.qualname for e in CATALOG])
def test_entries_are_well_formed(entry: object) -> None:
    from codemods.catalog import BlockingCall

    assert isinstance(entry, BlockingCall)
    assert entry.category in CATEGORIES and entry.code == CATEGORIES[entry.category][0]
    assert all(part.isidentifier() for part in entry.qualname.split("."))
    # A report says why; a native rewrite says to what; nothing else carries either.
    assert (entry.strategy is Strategy.REPORT) == (entry.reason is not None)
    assert (entry.strategy is Strategy.NATIVE) == (entry.native is not None)


def test_codes_are_unique_per_category_and_match_the_peers_where_they_exist() -> None:
    codes = [code for code, _ in CATEGORIES.values()]
    assert len(codes) == len(set(codes))
    for code, peer in CATEGORIES.values():
        # LS2xx: calls of the catalog; LS3xx: the project's own functions that reach them;
        # LS4xx: what a recording of the running program saw.
        assert code.startswith(("LS2", "LS3", "LS4")) and (peer == "" or peer == "ASYNC" + code[2:])


def test_each_type_is_made_by_its_own_constructors() -> None:
    constructors = [ctor for kind in TYPES for ctor in kind.constructors]
    assert len(constructors) == len(set(constructors))
    annotations = [name for kind in TYPES for name in kind.annotations]
    assert len(annotations) == len(set(annotations))
    for kind in TYPES:
        assert kind.category in CATEGORIES
        assert not set(kind.methods) & set(kind.report), kind.name  # fixed or reported, not both
        assert set(kind.streams_if) <= set(kind.methods), kind.name


def test_method_entries() -> None:
    [path] = [kind for kind in TYPES if kind.name == "pathlib.Path"]
    exists = method_entry(path, "exists")
    assert exists is not None and exists.qualname == "pathlib.Path.exists" and exists.code == "LS240"
    iterdir = method_entry(path, "iterdir")
    assert iterdir is not None and iterdir.strategy is Strategy.REPORT and iterdir.reason
    assert method_entry(path, "with_suffix") is None  # pure: not blocking


def test_indexes_honour_ignore_and_extra_entries() -> None:
    index = build_index([user_entry("mylib.fetch")], ignore=["os.remove"])
    assert "mylib.fetch" in index and index["mylib.fetch"].code == "LS200"
    assert "os.remove" not in index and "os.unlink" in index
    assert "requests.Session" not in build_constructor_index(ignore=["requests.Session"])
    assert "pathlib.Path" in build_annotation_index()


@pytest.mark.parametrize(
    ("qualname", "strategy", "problem"),
    [("", "to_thread", "not a dotted name"), ("my lib.f", "to_thread", "not a dotted name"),
     ("mylib.f", "magic", "unknown strategy"), ("mylib.f", "native", "only available for built-in")],
)
def test_user_entries_are_validated(qualname: str, strategy: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        user_entry(qualname, strategy)


def test_thread_and_context_manager_tables_are_dotted_names() -> None:
    for name in (*THREAD_SAFE, *FILE_LIKE, *HOLDS_PROCESS_STATE, *SAFE_CONTEXT_MANAGERS, *CANCELLATION):
        parts = name.split(".")
        assert all(part.isidentifier() or (part == "*" and index == len(parts) - 1)
                   for index, part in enumerate(parts)), name
    assert not set(HOLDS_PROCESS_STATE) & set(SAFE_CONTEXT_MANAGERS)


def test_io_arguments_can_exempt_a_call_and_agree_with_the_parameters() -> None:
    """An entry's I/O argument either names buffers or may be left out (else it exempts
    nothing), and sits where the entry's shared parameters say it does."""
    with_io = [entry for entry in CATALOG if entry.io_argument is not None]
    assert {"PIL.Image.open", "zipfile.ZipFile", "smtplib.SMTP"} <= {entry.qualname for entry in with_io}
    for entry in with_io:
        condition = entry.io_argument
        assert condition is not None and (condition.in_memory or condition.optional), entry.qualname
        if entry.shares is not None and condition.keyword in entry.shares.positional:
            assert entry.shares.positional.index(condition.keyword) == condition.index, entry.qualname


def _type(name: str) -> BlockingType:
    [kind] = [kind for kind in TYPES if kind.name == name]
    return kind


def test_method_patterns_paths_and_pure_names() -> None:
    redis_client = _type("redis.Redis")
    hgetall = method_entry(redis_client, "hgetall")  # any public method: a command
    assert hgetall is not None and hgetall.qualname == "redis.Redis.hgetall" and hgetall.code == "LS271"
    assert method_entry(redis_client, "pipeline") is None  # pure: makes a pipeline, sends nothing
    assert method_entry(redis_client, "_private") is None
    scan = method_entry(redis_client, "scan_iter")
    assert scan is not None and scan.strategy is Strategy.REPORT  # listed: reported, not matched by the pattern
    openai_client = _type("openai.OpenAI")
    create = method_entry(openai_client, "chat.completions.create")
    assert create is not None and create.streams_if is not None and create.shares is not None
    assert method_entry(openai_client, "chat.completions") is None and method_entry(openai_client, "create") is None
    repo = _type("git.Repo")
    assert method_entry(repo, "remotes.origin.pull") is not None and method_entry(repo, "git.status") is not None
    assert method_entry(repo, "git.clear_cache") is None


def test_returned_types_and_sharing() -> None:
    psycopg2_connection, pymysql_connection = _type("psycopg2.extensions.connection"), _type("pymysql.connections.Connection")
    cursor = returned_type(psycopg2_connection, "cursor")
    assert cursor is not None and cursor.name == "psycopg2.extensions.cursor"
    # The driver's threadsafety: psycopg2 2 (connections shared, cursors not), pymysql 1.
    assert psycopg2_connection.thread_safe and not cursor.thread_safe and not pymysql_connection.thread_safe
    assert "threadsafety is 1" in pymysql_connection.sharing
    assert _type("httpx.Client").thread_safe and not _type("requests.Session").thread_safe
    assert "psf/requests#2766" in _type("requests.Session").sharing
    collection = returned_type(_type("pymongo.database.Database"), "users")
    assert collection is not None and collection.name == "pymongo.collection.Collection"
    assert returned_type(_type("pymongo.database.Database"), "command") is None  # a method, not a collection


def test_ignore_may_name_a_method_a_pattern_covers() -> None:
    assert names_method("redis.Redis.hgetall") and names_method("botocore.client.BaseClient.put_object")
    assert not names_method("redis.Redis.pipeline") and not names_method("no.such.Type.method")
