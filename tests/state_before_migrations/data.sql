-- A little of everything the bot keeps, as a database of schema version 1 would hold it
-- (the same statements run on SQLite and PostgreSQL).
INSERT INTO conversations (key, used) VALUES ('tg:5', 1700000000.5), ('tg:-1009:77', 1700000100.0);
INSERT INTO turns (conversation, question, standalone, answer, citations) VALUES
    ('tg:5', 'ما قرارُ مجلس الأمن ٢٤٠١؟', 'ما قرار مجلس الأمن 2401؟', 'يطالب بهدنة [1].',
     '[{"n": 1, "source": "a.txt", "text": "يطالب القرار بهدنة"}]'),
    ('tg:5', 'ومن صاغه؟', 'من صاغ قرار مجلس الأمن ٢٤٠١؟', 'الكويت والسويد [1].', '[]'),
    ('tg:-1009:77', 'سؤال', 'سؤال', 'جواب', '[]');
INSERT INTO answers (chat_id, user_id, conversation, question, answer, answered, mode, seconds, created)
VALUES
    (5, 5, 'tg:5', 'ما قرارُ مجلس الأمن ٢٤٠١؟', 'يطالب بهدنة [1] «الكويت والسويد» [2].', TRUE, 'extractive',
     0.5, 1700000000.0),
    (-1001234567890123, NULL, 'tg:-1009:77', 'سؤال', 'لا أجد', FALSE, 'extractive', 2.5, 1700000100.0);
INSERT INTO citations (answer_id, n, paragraph_id, source, paragraph, title, text) VALUES
    (1, 1, 'pid:a.txt:3', 'a.txt', 3, 'عنوان', 'يطالب القرار بهدنة'),
    (1, 2, 'pid:b.txt:1', 'b.txt', 1, 'عنوان ب', 'الكويت والسويد');
INSERT INTO messages (chat_id, message_id, answer_id, conversation) VALUES
    (5, 100, 1, 'tg:5'), (5, 101, 1, 'tg:5'), (-1001234567890123, 7, 2, 'tg:-1009:77');
INSERT INTO votes (answer_id, user_id, vote, created) VALUES (1, 5, 1, 1700000001.0), (1, 6, -1, 1700000002.0);
INSERT INTO wrong_sources (answer_id, n, user_id, paragraph_id, created) VALUES
    (1, 2, 5, 'pid:b.txt:1', 1700000003.0);
