"""The Telegram front end: `isnad bot` serves cited Arabic answers to private chats and groups."""
