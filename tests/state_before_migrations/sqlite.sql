-- The SQLite schema bot/telegram/store.py created before numbered migrations (schema version 1),
-- kept verbatim so tests/telegram/test_pgstore.py can check that such a database upgrades itself.
CREATE TABLE IF NOT EXISTS conversations (
    key TEXT PRIMARY KEY,
    used REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_use ON conversations(used);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation TEXT NOT NULL REFERENCES conversations(key) ON DELETE CASCADE,
    question TEXT NOT NULL,
    standalone TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns(conversation, id);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id INTEGER NOT NULL,
    user_id INTEGER,
    conversation TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    answered INTEGER NOT NULL,
    mode TEXT NOT NULL,
    seconds REAL NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_by_chat ON answers(chat_id, id);
CREATE TABLE IF NOT EXISTS citations (
    answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    paragraph_id TEXT NOT NULL,
    source TEXT NOT NULL,
    paragraph INTEGER NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (answer_id, n)
);
CREATE TABLE IF NOT EXISTS messages (
    chat_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    conversation TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
CREATE TABLE IF NOT EXISTS votes (
    answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    created REAL NOT NULL,
    PRIMARY KEY (answer_id, user_id)
);
CREATE TABLE IF NOT EXISTS wrong_sources (
    answer_id INTEGER NOT NULL,
    n INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    paragraph_id TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (answer_id, n, user_id),
    FOREIGN KEY (answer_id, n) REFERENCES citations(answer_id, n) ON DELETE CASCADE
);
PRAGMA user_version = 1;
