"""Every Arabic string the bot shows, in one place so wording is reviewed together."""

from __future__ import annotations

from bot.qa.engine import EMPTY_QUESTION, TOO_LONG

__all__ = ["EMPTY_QUESTION", "TOO_LONG"]

GREETING = (
    "أهلًا بك! أنا «إسناد»: أجيب بالعربية عن أسئلتك من أرشيف أخبار عربية مفهرس،"
    " وأذكر الفقرات التي استندت إليها."
)
ARCHIVE = "ما أعرفه: {files} ملفات من الأخبار ({paragraphs} فقرة)، ومن عناوينها:"
ARCHIVE_EMPTY = "الأرشيف فارغ الآن؛ اطلب من المشرف فهرسة المقالات."
HOW_TO_ASK = (
    "كيف تسأل: اكتب سؤالك مباشرةً، مثل: «{example}». وتابع بسؤال قصير مثل «ومن اقترحه؟» فأفهمه في سياق"
    " المحادثة. كل رقم مثل [1] في الإجابة يشير إلى مصدر تجد نصّه كاملًا تحتها."
)
HOW_TO_ASK_GROUP = "في المجموعات: اذكرني باسمي @{username} في سؤالك، أو ردّ على إحدى رسائلي، أو استخدم أمرًا."
EXAMPLE_QUESTION = "كم شاحنة قال إيجلاند إنها جاهزة للذهاب إلى دوما؟"
COMMANDS_HEADER = "الأوامر:"
COMMAND_HELP = "/help — هذه المساعدة"
COMMAND_RESET = "/reset — نسيان هذه المحادثة والبدء من جديد"
COMMAND_SOURCES = "/sources — الفقرات التي استندت إليها آخر إجابة، كاملةً"
COMMAND_STATS = "/stats — إحصاءات الاستخدام والتقييمات (للمشرفين)"
COMMAND_REINDEX = "/reindex — إعادة فهرسة المقالات (للمشرفين)"

# Shown in Telegram's command menu (setMyCommands).
MENU = {
    "start": "التعريف بالبوت",
    "help": "ماذا أعرف وكيف تسألني",
    "reset": "بدء محادثة جديدة",
    "sources": "المصادر الكاملة لآخر إجابة",
}

RESET_DONE = "بدأنا محادثة جديدة؛ نسيت ما سبق من أسئلة هذه الدردشة."
REFUSED = "عذرًا، هذا البوت غير متاح هنا."
ADMINS_ONLY = "هذا الأمر للمشرفين فقط."
UNKNOWN_COMMAND = "لا أعرف هذا الأمر. اكتب /help لعرض الأوامر."
NOT_TEXT = "أفهم الأسئلة المكتوبة فقط؛ اكتب سؤالك نصًّا من فضلك."
EDITED = "لا أتابع تعديل الرسائل؛ أرسل سؤالك المعدَّل في رسالة جديدة."
FAILED = "عذرًا، حدث خطأ أثناء معالجة رسالتك. حاول مرة أخرى بعد قليل."

VOTE_UP = "👍"
VOTE_DOWN = "👎"
WRONG_SOURCE_BUTTON = "⚠️ [{n}] مصدر خاطئ"
THANKS_VOTE = "شكرًا، سُجّل تقييمك."
THANKS_WRONG_SOURCE = "شكرًا، سُجّل أن المصدر [{n}] لا يدعم الإجابة."
STALE_BUTTON = "هذا الزر لم يعد صالحًا."

REINDEX_STARTED = "بدأت إعادة فهرسة المقالات…"
REINDEX_DONE = (
    "اكتملت الفهرسة في {seconds:.1f} ث: {files} ملفات، {paragraphs} فقرة"
    " (أضيفت {added}، حُذفت {removed}، عُدّلت {updated})."
)
REINDEX_SKIPPED = "تخطّيت {count} ملفات غير صالحة."
REINDEX_BUSY = "فهرسة أخرى جارية الآن؛ حاول بعد انتهائها."
REINDEX_FAILED = "تعذّرت إعادة الفهرسة: {reason}"
REINDEX_TIMEOUT = (
    "لم تنتهِ إعادة الفهرسة خلال {seconds:.0f} ثانية فتوقفت عن انتظارها؛ ما زلت أجيب من الفهرس السابق."
)

STATS = (
    "إحصاءات البوت:\n"
    "الدردشات: {chats} — المحادثات المحفوظة: {conversations}\n"
    "الإجابات: {answers} (منها {answered} بمصادر)\n"
    "👍 {up} — 👎 {down} — مصادر خاطئة: {wrong}\n"
    "أبطأ إجابة: {slowest:.2f} ث\n"
    "الأرشيف: {files} ملفات، {paragraphs} فقرة"
)
STATS_REFRESH_OK = (
    "آخر تحديث للأخبار: {when} ({seconds:.0f} ث) — أضيفت {added} فقرة وحُذفت {removed}،"
    " {new} مقالات جديدة من المصادر في {requests} طلبات، {warnings} تنبيهات"
)
STATS_REFRESH_FAILED = "آخر تحديث للأخبار: {when} — تعذّر: {reason}"
STATS_REFRESH_PENDING = "تحديث الأخبار كل {minutes:g} دقيقة؛ لم يكتمل أي تحديث بعد."
STATS_FLAGGED = "الفقرات الأكثر تبليغًا:"
STATS_FLAGGED_LINE = "{source}، الفقرة {paragraph}: {flags}"
