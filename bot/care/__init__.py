"""Care: the use cases, one unit of work per update or job.

Enrollment, the nightly reminders and their answers, check-ins, concerns and alerts, the care
team's decisions and views, a patient's own data. Each use case opens its own database session,
commits once, and says what to tell whom. They may import rules, ui, delivery and storage; never
handlers, the wiring in `bot.app`, or anything of the dev tools.
"""
