"""UI: what people read. The texts catalog, button payloads, reply views and formatters.

A use case decides what to say; the modules here say it in words and buttons. They may import
the rules and the settings, never a use case, the delivery or Telegram itself.
"""
