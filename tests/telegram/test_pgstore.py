"""The bot's state behind one interface: the same contract on SQLite and on a real PostgreSQL.

PostgreSQL is Debian's `postgresql` package, started once for this module with initdb and
pg_ctl on 127.0.0.1 at a free port in a tmp dir (as an unprivileged user when the tests run
as root, since PostgreSQL refuses to run as root); each test gets a database of its own.
Where the binaries are missing the PostgreSQL cases skip and say which package to install.
The last test runs two real bot replicas in webhook mode on one database, the way a load
balancer would spread one chat's updates over them.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.qa.conversation import Turn
from bot.qa.engine import Answer, Citation, Engine
from bot.qa.retrieval import Passage
from bot.telegram import texts
from bot.telegram.app import open_state
from bot.telegram.migrations import MIGRATIONS
from bot.telegram.sqlstate import SqlState, migrate
from bot.telegram.state import BotState, redact_url
from bot.telegram.store import STORE_FILE, BotStore
from indexing.errors import ConfigError
from indexing.store.chroma import Occurrence, StoredParagraph
from isnad.settings import Settings
from tests.conftest import SEEDS, TESTS
from tests.fake_telegram import FakeBotAPI
from tests.harness import (
    FOLLOW_UP,
    RESOLUTION,
    RunningBot,
    answers_to,
    buttons,
    free_port,
    sharing,
    wait_until,
)
from tests.pg_server import PostgresServer


@pytest.fixture(params=["sqlite", "postgres"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], BotState]]:
    """Opens the test's store; each call is another instance over the same data (a restart, a replica)."""
    opened: list[BotState] = []
    if request.param == "sqlite":
        path = tmp_path / "state.sqlite3"

        def make() -> BotState:
            return BotStore(path)
    else:
        url = request.getfixturevalue("pg_url")
        from bot.telegram.pgstore import PostgresStore

        def make() -> BotState:
            return PostgresStore(url)

    def opener() -> BotState:
        store = make()
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[[], BotState]) -> BotState:
    return open_store()


# -- answers to record

ARABIC = "قَرَارُ مَجْلِسِ الأمـــن ٢٤٠١ (2401) يطالب بهدنة — «الكويت والسويد»"


def make_answer(question: str, cited: list[tuple[str, int, str]], text: str = ARABIC) -> Answer:
    """An Answer citing (source, paragraph, text) in order, each backed by a retrieved passage."""
    passages = [
        Passage(
            StoredParagraph(f"pid:{source}:{n}", source, n, body, "عنوان", "", (Occurrence(source, n),)), 0.8
        )
        for source, n, body in cited
    ]
    citations = [Citation.from_passage(i, p) for i, p in enumerate(passages, 1)]
    return Answer(question, question, text, bool(citations), "extractive", citations, passages, {})


# -- the store contract, on both


def test_answers_and_messages_round_trip(store: BotState) -> None:
    group = -1001234567890123  # chat ids of supergroups exceed 32 bits
    first = store.record_answer(
        group, 7, "tg:-1001234567890123:5", make_answer("س1", [("a.txt", 3, ARABIC)]), 0.5
    )
    second = store.record_answer(
        group,
        None,
        "tg:-1001234567890123:9",
        make_answer("س2", [("b.txt", 1, "ب"), ("a.txt", 3, ARABIC)]),
        1.5,
    )
    declined = store.record_answer(42, 42, "tg:42", make_answer("س3", [], "لا أجد"), 0.1)
    assert len({first, second, declined}) == 3

    last = store.last_answer(group)
    assert last is not None and last.id == second and last.conversation == "tg:-1001234567890123:9"
    assert [(c.n, c.paragraph_id, c.source, c.paragraph) for c in last.citations] == [
        (1, "pid:b.txt:1", "b.txt", 1),
        (2, "pid:a.txt:3", "a.txt", 3),
    ]
    assert last.citations[1].text == ARABIC and last.citations[1].title == "عنوان"  # Arabic intact
    one = store.answer(first)
    assert one is not None and one.text == ARABIC and one.question == "س1" and one.answered
    no = store.answer(declined)
    assert no is not None and not no.answered and no.citations == ()
    assert store.answer(10**9) is None and store.last_answer(5) is None

    store.link_messages(group, [100, 101], first, "tg:-1001234567890123:5")
    assert store.conversation_of(group, 101) == "tg:-1001234567890123:5"
    assert store.answer_of_message(group, 100) == one
    store.link_messages(group, [101], second, "tg:-1001234567890123:9")  # re-linking replaces
    found = store.answer_of_message(group, 101)
    assert found is not None and found.id == second
    assert store.conversation_of(group, 102) is None and store.answer_of_message(7, 100) is None


def test_votes_flags_and_stats(store: BotState) -> None:
    a = store.record_answer(1, 1, "tg:1", make_answer("س", [("a.txt", 3, "أ"), ("b.txt", 4, "ب")]), 0.4)
    b = store.record_answer(2, 2, "tg:2", make_answer("س", [("b.txt", 4, "ب")]), 2.5)
    store.record_answer(2, 2, "tg:2", make_answer("س", []), 0.1)
    assert store.vote(a, 1, -1) and store.vote(a, 1, 1)  # the later vote replaces the earlier
    assert store.vote(a, 2, -1) and store.vote(b, 1, 1)
    assert not store.vote(10**9, 1, 1)
    with pytest.raises(ValueError):
        store.vote(a, 1, 0)
    assert store.wrong_source(a, 2, 1) == "pid:b.txt:4"
    assert store.wrong_source(a, 2, 1) == "pid:b.txt:4"  # one flag per user and citation
    assert store.wrong_source(b, 1, 2) == "pid:b.txt:4"
    assert store.wrong_source(a, 1, 3) == "pid:a.txt:3"
    assert store.wrong_source(a, 9, 1) is None and store.wrong_source(10**9, 1, 1) is None

    assert store.feedback_by_paragraph() == {"pid:a.txt:3": (1, 1, 1), "pid:b.txt:4": (2, 1, 2)}
    store.memory().add("tg:1", Turn("س", "س", "ج", []))
    stats = store.stats()
    assert (stats.chats, stats.answers, stats.answered, stats.conversations) == (2, 3, 2, 1)
    assert (stats.up, stats.down, stats.wrong_sources) == (2, 1, 3)
    assert stats.flagged == (("b.txt", 4, 2), ("a.txt", 3, 1))
    assert stats.slowest_seconds == pytest.approx(2.5)
    assert store.stats(top=1).flagged == (("b.txt", 4, 2),)


def test_memory_is_bounded_and_keeps_arabic(store: BotState) -> None:
    memory = store.memory(max_turns=2, max_conversations=3)
    cited = [{"n": 1, "source": "a.txt", "text": ARABIC, "score": 0.5}]
    for key in ("a", "b", "c", "d"):
        for i in range(3):
            memory.add(key, Turn(f"{ARABIC} {i}", f"q{i}", f"a{i}", cited))
    assert memory.history("a") == []  # the least recently used conversation is forgotten
    history = memory.history("d")
    assert [t.answer for t in history] == ["a1", "a2"]  # oldest first, the oldest turn dropped
    assert history[0].question == f"{ARABIC} 1" and history[0].citations == cited
    memory.reset("d")
    assert memory.history("d") == [] and [t.answer for t in memory.history("c")] == ["a1", "a2"]


def test_reset_chat_forgets_its_threads_only(store: BotState) -> None:
    memory = store.memory()
    keys = ["tg:7", "tg:7:1", "tg:7:2", "tg:77", "tg:77:1", "tg:%", "tg:%:1", "tg:x:1"]
    for key in keys:
        memory.add(key, Turn("س", "س", key, []))
    store.reset_chat("tg:7")
    store.reset_chat("tg:%")  # LIKE wildcards in a key are matched literally
    assert [k for k in keys if memory.history(k)] == ["tg:77", "tg:77:1", "tg:x:1"]


def test_state_survives_reopening(open_store: Callable[[], BotState]) -> None:
    before = open_store()
    answer_id = before.record_answer(3, 3, "tg:3", make_answer(RESOLUTION, [("a.txt", 1, "أ")]), 0.2)
    before.link_messages(3, [55], answer_id, "tg:3")
    before.memory().add("tg:3", Turn(RESOLUTION, RESOLUTION, "ج", [{"n": 1}]))
    before.close()
    before.close()  # closing twice is harmless
    after = open_store()  # the schema is created again, idempotently
    assert [t.question for t in after.memory().history("tg:3")] == [RESOLUTION]
    found = after.answer_of_message(3, 55)
    assert found is not None and found.id == answer_id and found.citations[0].paragraph_id == "pid:a.txt:1"


def test_two_instances_write_at_once(open_store: Callable[[], BotState]) -> None:
    """Two stores on the same data (two replicas) and many threads each: nothing lost, bounds kept."""
    stores = [open_store(), open_store()]
    memories = [s.memory(max_turns=3) for s in stores]
    errors: list[BaseException] = []
    per_thread = 10

    def work(t: int) -> None:
        store, memory = stores[t % 2], memories[t % 2]
        try:
            for i in range(per_thread):
                memory.add(f"tg:{t}", Turn(f"q{i}", f"q{i}", f"a{i}", []))
                memory.add("tg:shared", Turn(f"q{t}.{i}", "", "", []))
                answer_id = store.record_answer(t, t, f"tg:{t}", make_answer("س", [("a.txt", 1, "أ")]), 0.01)
                assert store.vote(answer_id, t, 1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    for t in range(8):
        assert [turn.answer for turn in memories[(t + 1) % 2].history(f"tg:{t}")] == ["a7", "a8", "a9"]
    assert len(memories[0].history("tg:shared")) == 3
    stats = stores[1].stats()
    assert (stats.answers, stats.up, stats.conversations) == (8 * per_thread, 8 * per_thread, 9)


# -- the schema: numbered migrations, the same on both

BEFORE_MIGRATIONS = TESTS / "state_before_migrations"


def run_script(store: BotState, script: str) -> None:
    """Run a file of SQL statements directly on a store's database (to set up or inspect it)."""
    assert isinstance(store, SqlState)
    if store.dialect.name == "sqlite":
        with store.dialect.transaction() as tx:
            for statement in sqlite3_statements(script):
                tx.run(statement)
    else:
        with store.dialect.transaction() as tx:
            tx.cursor.execute(script)  # several statements, no parameters: one simple query


def sqlite3_statements(script: str) -> list[str]:
    """The statements of a script (executescript would commit on its own)."""
    lines = [line for line in script.splitlines() if not line.startswith("--")]
    return [s for s in "\n".join(lines).split(";") if s.strip()]


def schema_of(store: BotState) -> dict[str, object]:
    """Tables with their columns in order, and the named indexes, as the database reports them."""
    assert isinstance(store, SqlState)
    if store.dialect.name == "sqlite":
        tables = [r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
        columns = {
            t: [r["name"] for r in store.query(f"PRAGMA table_info({t})")]
            for t in tables
            if t != "sqlite_sequence"  # SQLite's own counter of AUTOINCREMENT keys
        }
        indexes = store.query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'"
        )
    else:
        columns = {}
        for r in store.query(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
        ):
            columns.setdefault(r["table_name"], []).append(r["column_name"])
        indexes = store.query(
            "SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE ?",
            ("%_pkey",),
        )
    return {"columns": columns, "indexes": sorted(r["name"] for r in indexes)}


def test_every_migration_is_recorded_once(open_store: Callable[[], BotState]) -> None:
    store = open_store()
    assert isinstance(store, SqlState)
    recorded = [r["name"] for r in store.query("SELECT name FROM isnad_migrations ORDER BY name")]
    assert recorded == [m.name for m in MIGRATIONS]
    assert recorded == sorted(recorded)  # numbered: the order they run in is the order of their names
    assert migrate(store.dialect) == []  # a second opening applies nothing


def test_sqlite_and_postgres_have_the_same_schema(postgres: PostgresServer, tmp_path: Path) -> None:
    from bot.telegram.pgstore import PostgresStore

    lite, pg = BotStore(tmp_path / "state.sqlite3"), PostgresStore(postgres.url(postgres.new_database()))
    try:
        expected = schema_of(lite)
        assert schema_of(pg) == expected
        assert "wrong_sources_by_paragraph" in expected["indexes"]
        assert "isnad_meta" not in expected["columns"]
    finally:
        lite.close()
        pg.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_database_from_before_migrations_upgrades_with_its_data(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Today's schema with data in it, opened by this version: the data stays, the schema is current."""
    legacy = (BEFORE_MIGRATIONS / f"{'sqlite' if backend == 'sqlite' else 'postgresql'}.sql").read_text()
    data = (BEFORE_MIGRATIONS / "data.sql").read_text()
    if backend == "sqlite":
        path = tmp_path / "old.sqlite3"
        with sqlite3.connect(path) as db:
            db.executescript(legacy + data)
        db.close()
        fresh: BotState = BotStore(tmp_path / "fresh.sqlite3")

        def reopen() -> BotState:
            return BotStore(path)
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres")
        url = postgres.url(postgres.new_database())
        import psycopg

        with psycopg.connect(url) as db:
            db.execute(legacy + data)  # a script, no parameters
        from bot.telegram.pgstore import PostgresStore

        fresh = PostgresStore(postgres.url(postgres.new_database()))

        def reopen() -> BotState:
            return PostgresStore(url)

    store = reopen()
    try:
        assert isinstance(store, SqlState)
        recorded = [r["name"] for r in store.query("SELECT name FROM isnad_migrations ORDER BY name")]
        assert recorded == [m.name for m in MIGRATIONS]
        assert schema_of(store) == schema_of(fresh)  # the index SQLite lacked is there; isnad_meta is gone

        # What the bot kept is all still there, through the interface.
        found = store.answer_of_message(5, 101)
        assert found is not None and found.id == 1 and found.answered and found.conversation == "tg:5"
        assert found.text == "يطالب بهدنة [1] «الكويت والسويد» [2]."
        assert [(c.n, c.paragraph_id, c.source, c.paragraph, c.title) for c in found.citations] == [
            (1, "pid:a.txt:3", "a.txt", 3, "عنوان"),
            (2, "pid:b.txt:1", "b.txt", 1, "عنوان ب"),
        ]
        declined = store.last_answer(-1001234567890123)
        assert declined is not None and declined.id == 2 and not declined.answered
        assert store.conversation_of(-1001234567890123, 7) == "tg:-1009:77"
        history = store.memory().history("tg:5")
        assert [t.question for t in history] == ["ما قرارُ مجلس الأمن ٢٤٠١؟", "ومن صاغه؟"]
        assert history[0].citations == [{"n": 1, "source": "a.txt", "text": "يطالب القرار بهدنة"}]
        assert store.feedback_by_paragraph() == {"pid:a.txt:3": (1, 1, 0), "pid:b.txt:1": (1, 1, 1)}
        stats = store.stats()
        assert (stats.chats, stats.conversations, stats.answers, stats.answered) == (2, 2, 2, 1)
        assert (stats.up, stats.down, stats.wrong_sources, stats.flagged) == (1, 1, 1, (("b.txt", 1, 1),))
        assert stats.slowest_seconds == pytest.approx(2.5)

        # And it takes new writes where the old numbering left off.
        new = store.record_answer(5, 5, "tg:5", make_answer("س", [("c.txt", 2, ARABIC)]), 0.3)
        assert new == 3 and store.vote(new, 5, 1) and store.wrong_source(1, 1, 6) == "pid:a.txt:3"
        store.memory().add("tg:5", Turn("س", "س", "ج", []))
        store.reset_chat("tg:-1009")
        assert store.memory().history("tg:-1009:77") == [] and len(store.memory().history("tg:5")) == 3
    finally:
        store.close()
        fresh.close()
    again = reopen()  # opening an upgraded database applies nothing more
    try:
        assert isinstance(again, SqlState) and migrate(again.dialect) == []
        assert again.answer(3) is not None
    finally:
        again.close()


# -- settings and secrets


def test_state_url_setting() -> None:
    assert Settings.from_env({}, dotenv=None).state_url is None
    url = "postgresql://isnad:pa55-w0rd@db.internal:5432/isnad"
    settings = Settings.from_env({"ISNAD_STATE_URL": url}, dotenv=None)
    assert settings.state_url == url and "pa55-w0rd" not in repr(settings)
    with pytest.raises(ConfigError, match="ISNAD_STATE_URL") as caught:
        Settings.from_env({"ISNAD_STATE_URL": "mysql://root:hunter2@db/isnad"}, dotenv=None)
    assert "hunter2" not in str(caught.value)
    assert redact_url(url) == "postgresql://isnad:***@db.internal:5432/isnad"
    assert redact_url("postgresql://isnad@[::1]/isnad") == "postgresql://isnad@[::1]/isnad"
    assert (
        redact_url("postgres://u:p@[::1]:5/d?sslmode=require") == "postgres://u:***@[::1]:5/d?sslmode=require"
    )


def test_sqlite_stays_the_default(tmp_path: Path) -> None:
    store = open_state(None, tmp_path / "data" / STORE_FILE)
    try:
        assert isinstance(store, BotStore) and store.path == tmp_path / "data" / STORE_FILE
    finally:
        store.close()


def test_password_never_reaches_messages_or_logs(
    postgres: PostgresServer, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    password = "Zq7-very-secret-pw"
    postgres.admin(f"CREATE ROLE replica LOGIN PASSWORD '{password}'")
    database = postgres.new_database(owner="replica")
    url = postgres.url(database, "replica", password)
    caplog.set_level(logging.DEBUG)
    store = open_state(url, tmp_path / STORE_FILE)
    try:
        answer_id = store.record_answer(1, 1, "tg:1", make_answer("س", [("a.txt", 1, "أ")]), 0.1)
        assert store.last_answer(1) is not None and store.vote(answer_id, 1, 1)
        assert password not in repr(store) and "replica:***@" in repr(store)
    finally:
        store.close()
    with pytest.raises(ConfigError) as caught:
        open_state(postgres.url(database, "replica", password + "-wrong"), tmp_path / STORE_FILE)
    message = str(caught.value)
    assert "replica:***@127.0.0.1" in message and "password authentication failed" in message
    assert password not in message
    assert "bot state in PostgreSQL at postgresql://replica:***@" in caplog.text
    assert password not in caplog.text


def test_unreachable_database_is_a_clear_error(postgres: PostgresServer) -> None:
    from bot.telegram.pgstore import PostgresStore

    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"cannot use the state database postgresql://isnad@127\.0\.0\.1"):
        PostgresStore(f"postgresql://isnad@127.0.0.1:{free_port()}/isnad", connect_timeout=3)
    assert time.monotonic() - started < 10


# -- two bot replicas behind a load balancer


class Replica:
    """One bot process's webhook, as the load balancer reaches it."""

    def __init__(self, bot: RunningBot, port: int, secret: str) -> None:
        self.bot, self.port, self.secret = bot, port, secret

    def deliver(self, update: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/tg/hook",
            data=json.dumps(update).encode(),
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": self.secret},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200


@pytest.mark.network
def test_two_replicas_share_conversations_and_feedback(
    postgres: PostgresServer, pg_url: str, base_engine: Engine, seeds_data: Path, tmp_path: Path
) -> None:
    secret = "replicas-share-this-secret"
    updates = iter(range(1, 1000))
    with FakeBotAPI() as fake:
        settings = Settings(
            data_dir=seeds_data,
            corpus_dir=SEEDS,
            telegram_token=fake.token,
            telegram_base_url=fake.base_url,
            webhook_url="https://isnad.example/tg/hook",
            webhook_secret=secret,
            state_url=pg_url,
            admins=frozenset({905}),
        )
        replicas: list[Replica] = []
        try:
            for name in ("a", "b"):
                port = free_port()
                bot = RunningBot(
                    fake,
                    replace(settings, webhook_listen=f"127.0.0.1:{port}"),
                    sharing(base_engine),
                    tmp_path / f"{name}.sqlite3",  # not used: ISNAD_STATE_URL wins
                )
                replicas.append(Replica(bot.__enter__(), port, secret))
                fake.wait_for(
                    lambda calls: len([c for c in calls if c.method == "setWebhook"]) >= len(replicas),
                    what=f"replica {name} to listen",
                )
            a, b = replicas

            def message(
                replica: Replica, chat: dict[str, Any], user: dict[str, Any], text: str, **kw: Any
            ) -> None:
                replica.deliver({"update_id": next(updates), "message": fake.message(chat, user, text, **kw)})

            # A private conversation begun on A continues on B.
            chat, user = fake.private_chat(901), fake.user(901)
            message(a, chat, user, RESOLUTION)
            [first] = answers_to(fake, 901, 0)
            message(b, chat, user, FOLLOW_UP)
            [follow] = answers_to(fake, 901, 1)
            assert "الكويت" in follow.params["text"]

            # In a group, a reply to A's answer reaches B, which finds that answer's thread.
            group, alice = fake.group_chat(-1009), fake.user(902)
            message(a, group, alice, f"@isnad_test_bot {RESOLUTION}")
            [answer] = answers_to(fake, -1009, 0)
            # A links the sent message to its thread right after Telegram confirms it; a person
            # replies seconds later, the test at once, so it waits for that link like a person.
            wait_until(lambda: b.bot.services.store.conversation_of(-1009, answer.result["message_id"]))
            message(
                b, group, alice, FOLLOW_UP, reply_to=fake.stored_message(-1009, answer.result["message_id"])
            )
            [threaded] = answers_to(fake, -1009, 1)
            assert "الكويت" in threaded.params["text"]

            # Feedback pressed on B under A's first answer is what A sees.
            pressed = {x["text"]: x["callback_data"] for x in buttons(first)}
            wrong = next(data for label, data in pressed.items() if "[1]" in label)
            original = fake.stored_message(901, first.result["message_id"])
            for n, data in enumerate((pressed["👍"], wrong)):
                query = {
                    "id": f"cq{n}",
                    "from": user,
                    "chat_instance": "901",
                    "message": original,
                    "data": data,
                }
                b.deliver({"update_id": next(updates), "callback_query": query})
            fake.wait_for(
                lambda calls: len([c for c in calls if c.method == "answerCallbackQuery"]) >= 2,
                what="both presses to be answered",
            )
            stats = a.bot.services.store.stats()
            assert (stats.up, stats.down, stats.wrong_sources) == (1, 0, 1)
            cited = a.bot.services.store.answer_of_message(901, first.result["message_id"]).citations[0]
            assert a.bot.services.store.feedback_by_paragraph()[cited.paragraph_id] == (1, 0, 1)
            admin, admin_chat = fake.user(905), fake.private_chat(905)
            message(a, admin_chat, admin, "/stats")
            [report] = answers_to(fake, 905, 0)
            assert "👍 1 — 👎 0 — مصادر خاطئة: 1" in report.params["text"]
            assert texts.STATS_FLAGGED in report.params["text"] and cited.source in report.params["text"]
            assert not (tmp_path / "a.sqlite3").exists() and not (tmp_path / "b.sqlite3").exists()
        finally:
            for replica in reversed(replicas):
                replica.bot.__exit__()
