"""Delivery: the way in and out of Telegram.

The intake that keeps every update before Telegram hears it arrived, our own getUpdates loop,
the notifier that turns Telegram's failures into what a use case decides on, the pacing of our
requests, what recent messages show, and calm network logs. It may import ui views, the settings
and storage; never a use case.
"""
