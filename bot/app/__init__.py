"""App: settings, the clock, the typed handler context, and the wiring of one process.

`settings` and `clock` are read by every room; `context` names the services a handler may call;
`application` builds the bot, its jobs (`dispatcher`, `recovery`) and its handlers. Only the
wiring imports handlers; nothing but `bot.__main__` imports the wiring.
"""
