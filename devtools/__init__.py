"""Dev tools, outside the product: the bot on a virtual clock against the fake Telegram.

The simulation the tests drive, the scripted `demo`, the interactive `simulate`, and the chat
view that prints both. Installed with the `dev` extra; nothing in `bot`, `handlers` or `storage`
imports them.
"""
