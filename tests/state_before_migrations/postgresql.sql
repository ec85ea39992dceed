-- The PostgreSQL schema bot/telegram/pgstore.py created before numbered migrations (version 1),
-- kept verbatim so tests/telegram/test_pgstore.py can check that such a database upgrades itself.
CREATE TABLE IF NOT EXISTS isnad_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conversations (key TEXT PRIMARY KEY, used DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_by_use ON conversations (used);
CREATE TABLE IF NOT EXISTS turns (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        conversation TEXT NOT NULL REFERENCES conversations (key) ON DELETE CASCADE,
        question TEXT NOT NULL,
        standalone TEXT NOT NULL,
        answer TEXT NOT NULL,
        citations TEXT NOT NULL
    );
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns (conversation, id);
CREATE TABLE IF NOT EXISTS answers (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        chat_id BIGINT NOT NULL,
        user_id BIGINT,
        conversation TEXT NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        answered BOOLEAN NOT NULL,
        mode TEXT NOT NULL,
        seconds DOUBLE PRECISION NOT NULL,
        created DOUBLE PRECISION NOT NULL
    );
CREATE INDEX IF NOT EXISTS answers_by_chat ON answers (chat_id, id);
CREATE TABLE IF NOT EXISTS citations (
        answer_id BIGINT NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
        n INTEGER NOT NULL,
        paragraph_id TEXT NOT NULL,
        source TEXT NOT NULL,
        paragraph INTEGER NOT NULL,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (answer_id, n)
    );
CREATE TABLE IF NOT EXISTS messages (
        chat_id BIGINT NOT NULL,
        message_id BIGINT NOT NULL,
        answer_id BIGINT NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
        conversation TEXT NOT NULL,
        PRIMARY KEY (chat_id, message_id)
    );
CREATE TABLE IF NOT EXISTS votes (
        answer_id BIGINT NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
        user_id BIGINT NOT NULL,
        vote SMALLINT NOT NULL CHECK (vote IN (-1, 1)),
        created DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (answer_id, user_id)
    );
CREATE TABLE IF NOT EXISTS wrong_sources (
        answer_id BIGINT NOT NULL,
        n INTEGER NOT NULL,
        user_id BIGINT NOT NULL,
        paragraph_id TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (answer_id, n, user_id),
        FOREIGN KEY (answer_id, n) REFERENCES citations (answer_id, n) ON DELETE CASCADE
    );
CREATE INDEX IF NOT EXISTS wrong_sources_by_paragraph ON wrong_sources (paragraph_id);
INSERT INTO isnad_meta (name, value) VALUES ('schema_version', '1');
