"""Rules: the clinical and timing logic, pure, with `now` always passed in.

Plans and their steps, when a night falls, what a night's answer means, when to ask about side
effects, how serious a report or a typed word is. Nothing here does I/O, reads a clock, or knows of
Telegram or the database: a module here imports only the standard library and other rules.
"""
