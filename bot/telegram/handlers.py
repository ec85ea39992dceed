"""Telegram handlers: who may ask, whether the bot is addressed, which conversation, what to reply.

Every handler that replies in a chat takes that chat's lock before its first await, so
with concurrent updates one chat is still answered in order while other chats proceed.
Engine, SQLite and indexer work runs in worker threads (`asyncio.to_thread`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import cast

from telegram import BotCommand, Message, MessageEntity, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.qa.sources import arabic_date
from bot.telegram import texts
from bot.telegram.daemon import in_daemon_thread
from bot.telegram.delivery import Courier, DeliveryFailed
from bot.telegram.feedback import Feedback, feedback_keyboard
from bot.telegram.formatting import answer_messages, sources_messages, text_message, text_messages
from bot.telegram.ratelimit import Verdict
from bot.telegram.services import SERVICES, Archive, Services, settle_heap
from bot.telegram.state import BotState, StoredAnswer
from indexing.errors import IndexLockedError, IsnadError
from indexing.untrusted import printable

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
TYPING_REFRESH = 4.5  # Telegram shows "typing…" for 5 s after each chat action
COMMANDS = [BotCommand(name, description) for name, description in texts.MENU.items()]


def services(context: Context) -> Services:
    """The shared collaborators post_init put in bot_data."""
    return cast(Services, context.bot_data[SERVICES])


# -- who is addressed


def is_private(message: Message) -> bool:
    """Private chats: every text is a question."""
    return message.chat.type == ChatType.PRIVATE


def replies_to_bot(message: Message, bot_id: int) -> bool:
    """Whether the message answers one of the bot's own messages."""
    reply = message.reply_to_message
    return bool(reply and reply.from_user and reply.from_user.id == bot_id)


def mentions_bot(message: Message, username: str, bot_id: int) -> bool:
    """Whether the text or caption names the bot by @username (or as a text mention)."""
    kinds: list[str | None] = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
    found = {**message.parse_entities(kinds), **message.parse_caption_entities(kinds)}
    for entity, value in found.items():
        if entity.type == MessageEntity.MENTION and value.lstrip("@").lower() == username.lower():
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            return True
    return False


def command_for_bot(message: Message, username: str) -> bool:
    """A command with no @target (meant for every bot in the chat) or with ours."""
    text = message.text or ""
    if not text.startswith("/"):
        return False
    _, at, target = text.split(maxsplit=1)[0].partition("@")
    return not at or target.lower() == username.lower()


def is_addressed(message: Message, username: str, bot_id: int) -> bool:
    """Private chats always; groups on @mention, a reply to the bot, or a command."""
    return (
        is_private(message)
        or mentions_bot(message, username, bot_id)
        or replies_to_bot(message, bot_id)
        or command_for_bot(message, username)
    )


def question_of(message: Message, username: str) -> str:
    """The question without the bot's @username."""
    text = message.text or ""
    if username:
        text = re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split())


def chat_key(chat_id: int) -> str:
    """Conversation key of a private chat, and the prefix of a group's threads."""
    return f"tg:{chat_id}"


def conversation_key(store: BotState, message: Message, bot_id: int) -> str:
    """Private chats have one conversation; in groups each reply thread is its own.

    A reply to one of the bot's answers continues that answer's conversation; a reply to
    another message joins the thread rooted there; a fresh mention opens a new thread.
    Runs in a worker thread (it reads SQLite).
    """
    base = chat_key(message.chat_id)
    if is_private(message):
        return base
    reply = message.reply_to_message
    if reply is None:
        return f"{base}:{message.message_id}"
    if replies_to_bot(message, bot_id):
        known = store.conversation_of(message.chat_id, reply.message_id)
        if known:
            return known
    return f"{base}:{reply.message_id}"


# -- replies


async def reply(message: Message, text: str) -> None:
    """Send plain Arabic text (escaped, right-to-left, split if long), retried until delivered."""
    courier = Courier(message.chat_id)
    for part in text_messages(text):
        await courier.send(partial(message.reply_text, part))


@asynccontextmanager
async def typing(message: Message) -> AsyncIterator[None]:
    """Show "typing…" in the chat until the block ends."""

    async def keep_typing() -> None:
        while True:
            try:
                await message.reply_chat_action(ChatAction.TYPING)
            except TelegramError as exc:  # cosmetic: never let it cost the answer
                log.debug("chat action failed: %s", type(exc).__name__)
            await asyncio.sleep(TYPING_REFRESH)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def help_text(archive: Archive, username: str, admin: bool, greeting: bool) -> str:
    """What the bot knows, how to ask it, and its commands."""
    lines = [texts.GREETING, ""] if greeting else []
    if archive.files:
        lines.append(texts.ARCHIVE.format(files=archive.files, paragraphs=archive.paragraphs))
        lines += [f"• {headline}" for headline in archive.headlines]
    else:
        lines.append(texts.ARCHIVE_EMPTY)
    lines += ["", texts.HOW_TO_ASK.format(example=texts.EXAMPLE_QUESTION)]
    lines.append(texts.HOW_TO_ASK_GROUP.format(username=username))
    lines += ["", texts.COMMANDS_HEADER, texts.COMMAND_HELP, texts.COMMAND_RESET, texts.COMMAND_SOURCES]
    if admin:
        lines += [texts.COMMAND_STATS, texts.COMMAND_REINDEX]
    return "\n".join(lines)


# -- handlers


async def gate(update: Update, context: Context) -> None:
    """ISNAD_ALLOWED_CHATS: anyone else gets one short refusal when addressing the bot, nothing more."""
    svc = services(context)
    chat, user = update.effective_chat, update.effective_user
    if svc.is_allowed(chat.id if chat else None, user.id if user else None):
        return
    log.info("refused update %s from chat %s", update.update_id, chat.id if chat else None)
    query, message = update.callback_query, update.message
    try:
        if query is not None:
            await query.answer(texts.REFUSED)
        elif (
            message is not None
            and user is not None
            and is_addressed(message, context.bot.username, context.bot.id)
            and svc.limiter.check(user.id).verdict is not Verdict.DROP
        ):
            await message.reply_text(text_message(texts.REFUSED))
    except Exception as exc:
        # Fail closed: PTB passes an update whose handler raised on to the next group, so a
        # refusal Telegram rejects (bot blocked, button expired) would let the stranger in.
        log.warning("could not send the refusal for update %s: %s", update.update_id, type(exc).__name__)
    raise ApplicationHandlerStop


async def throttle(update: Update, context: Context) -> None:
    """The per-user limit on everything that makes the bot reply: questions, commands, buttons.

    A flood of /help in a group used to cost nothing here and queue every other member's
    answer behind Telegram's group cap; now the flooder gets one «تمهّل» and then silence.
    Messages not addressed to the bot cost nothing and are not counted.
    """
    user = update.effective_user
    if user is None:
        return
    query, message = update.callback_query, update.effective_message
    if query is None and not (
        message is not None and is_addressed(message, context.bot.username, context.bot.id)
    ):
        return
    svc = services(context)
    decision = svc.limiter.check(user.id)
    if decision.verdict is Verdict.ALLOW:
        return
    try:
        if decision.verdict is Verdict.WARN:
            if query is not None:
                await query.answer(decision.message())
            elif message is not None:
                async with svc.locks.hold(message.chat_id):
                    await reply(message, decision.message())
    except Exception as exc:  # the update is refused whether or not the warning got through
        log.warning("could not send the slow-down for update %s: %s", update.update_id, type(exc).__name__)
    raise ApplicationHandlerStop


async def on_start(update: Update, context: Context) -> None:
    """Greeting and help."""
    await _help(update, context, greeting=True)


async def on_help(update: Update, context: Context) -> None:
    """What the bot knows, how to ask, the commands."""
    await _help(update, context, greeting=False)


async def _help(update: Update, context: Context, greeting: bool) -> None:
    message = update.message
    if message is None:
        return
    svc = services(context)
    admin = svc.is_admin(message.from_user.id if message.from_user else None)
    async with svc.locks.hold(message.chat_id):
        await reply(message, help_text(svc.archive, context.bot.username, admin, greeting))


async def on_reset(update: Update, context: Context) -> None:
    """Forget this chat's conversation (in a group: every thread of it)."""
    message = update.message
    if message is None:
        return
    svc = services(context)
    async with svc.locks.hold(message.chat_id):
        await asyncio.to_thread(svc.store.reset_chat, chat_key(message.chat_id))
        await reply(message, texts.RESET_DONE)


async def on_sources(update: Update, context: Context) -> None:
    """The whole cited paragraphs of the last answer (or of the answer replied to)."""
    message = update.message
    if message is None:
        return
    svc = services(context)
    bot_id = context.bot.id

    def find() -> StoredAnswer | None:
        reply_to = message.reply_to_message
        if reply_to is not None and replies_to_bot(message, bot_id):
            found = svc.store.answer_of_message(message.chat_id, reply_to.message_id)
            if found is not None:
                return found
        return svc.store.last_answer(message.chat_id)

    async with svc.locks.hold(message.chat_id):
        stored = await asyncio.to_thread(find)
        for part in sources_messages(stored.citations if stored else None):
            await message.reply_text(part)


async def on_stats(update: Update, context: Context) -> None:
    """Admins: usage and feedback counts."""
    message = update.message
    if message is None:
        return
    svc = services(context)
    async with svc.locks.hold(message.chat_id):
        if await _admin(message, svc):
            await reply(message, await asyncio.to_thread(_stats_text, svc))


def _stats_text(svc: Services) -> str:
    stats = svc.store.stats()
    lines = [
        texts.STATS.format(
            chats=stats.chats,
            conversations=stats.conversations,
            answers=stats.answers,
            answered=stats.answered,
            up=stats.up,
            down=stats.down,
            wrong=stats.wrong_sources,
            slowest=stats.slowest_seconds,
            files=svc.archive.files,
            paragraphs=svc.archive.paragraphs,
        )
    ]
    refresh = refresh_line(svc)
    if refresh:
        lines.append(refresh)
    if stats.flagged:
        lines.append(texts.STATS_FLAGGED)
        lines += [
            texts.STATS_FLAGGED_LINE.format(source=printable(source), paragraph=paragraph, flags=flags)
            for source, paragraph, flags in stats.flagged
        ]
    return "\n".join(lines)


def refresh_line(svc: Services) -> str:
    """The last feeds refresh for /stats ("" when the bot refreshes nothing)."""
    status = svc.last_refresh
    if status is None:
        if not svc.config.refresh_minutes:
            return ""
        return texts.STATS_REFRESH_PENDING.format(minutes=svc.config.refresh_minutes)
    when = f"{arabic_date(status.finished.date().isoformat())} {status.finished:%H:%M} UTC"
    if not status.ok:
        return texts.STATS_REFRESH_FAILED.format(when=when, reason=status.problem)
    return texts.STATS_REFRESH_OK.format(
        when=when,
        seconds=status.seconds,
        added=status.added,
        removed=status.removed,
        new=status.new_articles,
        requests=status.requests,
        warnings=status.warnings,
    )


async def on_reindex(update: Update, context: Context) -> None:
    """Admins: index the corpus again in the background, then swap engines.

    The handler returns once the job has started, so neither the admin's chat (its lock)
    nor the bot's shutdown waits for an index job, which may hang on a bad mount or run long.
    """
    message = update.message
    if message is None:
        return
    svc = services(context)
    async with svc.locks.hold(message.chat_id):
        if not await _admin(message, svc):
            return
        if svc.reindexing.locked():
            await reply(message, texts.REINDEX_BUSY)
            return
        await svc.reindexing.acquire()  # never waits: checked just above, with no await between
        try:
            await reply(message, texts.REINDEX_STARTED)
        except BaseException:
            svc.reindexing.release()
            raise
    svc.spawn(_reindex(message, svc))


async def _reindex(message: Message, svc: Services) -> None:
    """The index job off the loop, bounded by reindex_timeout; the admin is told how it ended."""
    try:
        report, engine, archive = await asyncio.wait_for(
            in_daemon_thread(svc.reindex, "isnad-reindex"), svc.reindex_timeout
        )
        # Answers already under way finish on the old engine; new questions get the new one.
        svc.engine, svc.archive = engine, archive
        await asyncio.to_thread(settle_heap, True)  # freeze the new engine, free the old one's cycles
    except TimeoutError:
        log.warning("reindex still running after %.0f s; stopped waiting for it", svc.reindex_timeout)
        await _tell(message, svc, texts.REINDEX_TIMEOUT.format(seconds=svc.reindex_timeout))
        return
    except IndexLockedError:
        await _tell(message, svc, texts.REINDEX_BUSY)
        return
    except IsnadError as exc:
        log.warning("reindex failed: %s", printable(str(exc)))
        await _tell(message, svc, texts.REINDEX_FAILED.format(reason=exc))
        return
    except Exception:
        log.exception("reindex failed")
        await _tell(message, svc, texts.FAILED)
        return
    finally:
        svc.reindexing.release()
    log.info("reindexed: %s", report.as_dict())
    done = texts.REINDEX_DONE.format(
        seconds=report.seconds,
        files=report.files,
        paragraphs=report.paragraphs,
        added=report.added,
        removed=report.removed,
        updated=report.updated,
    )
    if report.skipped:
        done += "\n" + texts.REINDEX_SKIPPED.format(count=len(report.skipped))
    await _tell(message, svc, done)


async def _tell(message: Message, svc: Services, text: str) -> None:
    """A reply from background work, in the chat's turn; a failure to send is only logged."""
    try:
        async with svc.locks.hold(message.chat_id):
            await reply(message, text)
    except TelegramError as exc:
        log.warning("could not tell chat %s: %s", message.chat_id, type(exc).__name__)


async def _admin(message: Message, svc: Services) -> bool:
    if svc.is_admin(message.from_user.id if message.from_user else None):
        return True
    await reply(message, texts.ADMINS_ONLY)
    return False


async def on_unknown_command(update: Update, context: Context) -> None:
    """A command the bot does not have: a hint in private, or when explicitly /cmd@bot."""
    message = update.message
    if message is None or not message.text:
        return
    explicit = "@" in message.text.split(maxsplit=1)[0] and command_for_bot(message, context.bot.username)
    if is_private(message) or explicit:
        async with services(context).locks.hold(message.chat_id):
            await reply(message, texts.UNKNOWN_COMMAND)


async def on_text(update: Update, context: Context) -> None:
    """A question: answer it with cited paragraphs, feedback buttons under the last part."""
    message = update.message
    if message is None or message.text is None:
        return
    bot = context.bot
    if not is_private(message) and not (
        mentions_bot(message, bot.username, bot.id) or replies_to_bot(message, bot.id)
    ):
        return  # group talk not meant for the bot
    svc = services(context)
    user_id = message.from_user.id if message.from_user else None
    async with svc.locks.hold(message.chat_id):
        question = question_of(message, bot.username)
        if len(question) > svc.max_question_chars:  # the question's length: not the @mention's
            limit = svc.max_question_chars
            await reply(message, texts.TOO_LONG.format(length=len(question), limit=limit))
            return
        if not question:
            await reply(message, texts.EMPTY_QUESTION)
            return
        await _answer(message, svc, question, user_id, bot.id)


async def _answer(message: Message, svc: Services, question: str, user_id: int | None, bot_id: int) -> None:
    chat_id = message.chat_id

    def work() -> tuple[str, int, list[str], list[int]]:
        key = conversation_key(svc.store, message, bot_id)
        answer, answer_id = svc.ask(question, key, chat_id, user_id)
        return key, answer_id, answer_messages(answer), [c.n for c in answer.citations]

    async with typing(message):
        key, answer_id, parts, cited = await asyncio.to_thread(work)
    keyboard = feedback_keyboard(answer_id, cited)
    courier = Courier(chat_id, svc.metrics, svc.send_policy)
    last = len(parts) - 1
    try:
        await courier.send_all(
            [
                partial(message.reply_text, part, reply_markup=keyboard if i == last else None)
                for i, part in enumerate(parts)
            ]
        )
    finally:
        # Buttons and /sources work on what arrived, even when a later part did not.
        if courier.delivered:
            await asyncio.to_thread(svc.store.link_messages, chat_id, courier.delivered, answer_id, key)


async def on_edited(update: Update, context: Context) -> None:
    """Edited messages are not re-answered; say so in private, stay quiet in groups."""
    message = update.edited_message
    if message is None or not is_private(message):
        return
    await _polite(message, context, texts.EDITED)


async def on_not_text(update: Update, context: Context) -> None:
    """Stickers, photos, voice…: a polite note in private or when addressed in a group."""
    message = update.message
    if message is None:
        return
    bot = context.bot
    if is_private(message) or replies_to_bot(message, bot.id) or mentions_bot(message, bot.username, bot.id):
        await _polite(message, context, texts.NOT_TEXT)


async def _polite(message: Message, context: Context, text: str) -> None:
    svc = services(context)
    async with svc.locks.hold(message.chat_id):
        await reply(message, text)


async def on_feedback(update: Update, context: Context) -> None:
    """👍 / 👎 / wrong source: recorded against the cited paragraph ids, if the button is genuine.

    Callback data names an answer by its row id, which anyone can guess, so a press counts
    only when it comes from a message that carried that very answer in that very chat.
    Every refusal reads the same, so presses cannot probe which answer ids exist.
    """
    query = update.callback_query
    if query is None:
        return
    svc = services(context)
    user_id = query.from_user.id
    pressed_on = query.message
    chat_id = pressed_on.chat.id if pressed_on is not None else user_id
    async with svc.locks.hold(chat_id):  # presses count in the order they were made
        press = Feedback.parse(query.data)
        recorded = False
        if press is not None and pressed_on is not None:
            recorded = await asyncio.to_thread(
                _record_press, svc.store, press, chat_id, pressed_on.message_id, user_id
            )
        if recorded and press is not None:
            if press.vote:
                svc.metrics.voted(press.vote)
            else:
                svc.metrics.wrong_sources.inc()
        if not recorded or press is None:
            note = texts.STALE_BUTTON
        elif press.vote:
            note = texts.THANKS_VOTE
        else:
            note = texts.THANKS_WRONG_SOURCE.format(n=press.wrong_source)
        log.info("feedback %r in chat %s recorded=%s", query.data, chat_id, recorded)
        await query.answer(note)


def _record_press(store: BotState, press: Feedback, chat_id: int, message_id: int, user_id: int) -> bool:
    """Record a press made on (chat_id, message_id); False unless that message carried the answer."""
    carried = store.answer_of_message(chat_id, message_id)
    if carried is None or carried.id != press.answer_id:
        return False
    if press.vote:
        return store.vote(press.answer_id, user_id, press.vote)
    return store.wrong_source(press.answer_id, press.wrong_source, user_id) is not None


async def on_error(update: object, context: Context) -> None:
    """Log with the traceback first, then tell the user something went wrong."""
    if isinstance(context.error, DeliveryFailed):
        # Telegram stayed unreachable for the whole retry budget: telling the user would fail
        # too. The chat id only: never the text (personal data) nor the token.
        failure = context.error
        log.warning(
            "reply to chat %s not delivered after retrying (%s; %d parts arrived)",
            failure.chat_id,
            type(failure.cause).__name__,
            len(failure.delivered),
        )
        services(context).metrics.send_failures.inc()
        return
    log.error("error while handling update %s", getattr(update, "update_id", None), exc_info=context.error)
    if not isinstance(update, Update):
        return  # e.g. a polling error: there is nobody to tell
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(texts.FAILED)
        elif update.effective_message is not None and update.effective_chat is not None:
            await update.effective_message.reply_text(text_message(texts.FAILED))
    except TelegramError as exc:
        log.warning("could not report the error to the chat: %s", type(exc).__name__)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Attach every handler; the allowlist gate runs first, then the per-user limit, each in its own group."""
    application.add_handler(TypeHandler(Update, gate), group=-2)
    application.add_handler(TypeHandler(Update, throttle), group=-1)
    only_new = filters.UpdateType.MESSAGE
    application.add_handlers(
        [
            CommandHandler("start", on_start, filters=only_new),
            CommandHandler("help", on_help, filters=only_new),
            CommandHandler("reset", on_reset, filters=only_new),
            CommandHandler("sources", on_sources, filters=only_new),
            CommandHandler("stats", on_stats, filters=only_new),
            CommandHandler("reindex", on_reindex, filters=only_new),
            MessageHandler(only_new & filters.COMMAND, on_unknown_command),
            MessageHandler(only_new & filters.TEXT, on_text),
            MessageHandler(filters.UpdateType.EDITED_MESSAGE, on_edited),
            MessageHandler(only_new & ~filters.TEXT & ~filters.StatusUpdate.ALL, on_not_text),
            CallbackQueryHandler(on_feedback),
        ]
    )
    application.add_error_handler(on_error)
