"""Every sentence a patient reads, keyed, in one place a clinician can review in one sitting.

Tests assert on keys and structure, not on this prose. Placeholders use str.format names.
"""

from __future__ import annotations

TEXTS: dict[str, str] = {
    # Onboarding
    "welcome": (
        "Hello! I'm the LDN helper for {clinic}.\n\n"
        "I can:\n"
        "• remind you to take your Low Dose Naltrexone at bedtime, every night\n"
        "• tell you tonight's dose, in mg and in capsules\n"
        "• show your whole titration plan, step by step\n\n"
        "I can't:\n"
        "• change your dose: only your provider does that\n"
        "• give medical advice or answer questions about symptoms\n"
        "• help in an emergency. If you feel very unwell, call {emergency} now.\n\n"
        "For anything about your treatment, contact {clinic}: {contact}."
    ),
    "consent": (
        "To remind you, I keep your plan, your bedtime, your time zone and which doses you "
        "record. Only your care team can see them. Is that OK?"
    ),
    "button_consent_yes": "Yes, that's OK",
    "button_consent_no": "No, thanks",
    "consent_declined": (
        "No problem, I haven't kept anything. If you change your mind, send /start."
    ),
    "ask_plan": "Which plan did your provider prescribe? It's on your prescription.",
    "button_plan_builtin-0.5": "0.5 mg capsules (0.5 → 4.5 mg)",
    "button_plan_builtin-1.5": "1.5 mg capsules (1.5 → 4.5 mg)",
    "button_plan_other": "Something else",
    "plan_other": (
        "Your provider can set up a different plan for you. Please contact {clinic} "
        "({contact}) and they'll send you a link. You can also pick one of the plans above."
    ),
    "plan_chosen": "Got it: {plan}.",
    "ask_start": (
        "When do you take (or did you take) your first dose? Tap a button, or type a date "
        "such as 2026-12-01 or 1 Dec."
    ),
    "button_today": "Tonight",
    "button_tomorrow": "Tomorrow night",
    "bad_start": (
        "Sorry, I couldn't read that as a date. Try 2026-12-01 or 1 Dec, or tap a button."
    ),
    "start_out_of_range": (
        "That date is too far from today. Please pick a date within the last year or the "
        "next three months."
    ),
    "ask_bedtime": (
        "What time do you usually go to bed? I'll remind you then. Tap a time, or type "
        "one such as 22:30 or 10:30 pm."
    ),
    "bad_bedtime": ("Sorry, I couldn't read that as a time. Try 22:30, 10:30 pm or 22.30."),
    "ask_timezone": (
        "Which time zone are you in? Tap yours, or type your city (for example London, "
        "New York or Mumbai)."
    ),
    "button_zone": "{label}",
    "button_zone_other": "Somewhere else",
    "ask_timezone_city": "Type the name of your city or time zone, for example Chicago.",
    "bad_timezone": (
        "Sorry, I don't know that place. Try a big city near you, or a time zone name "
        "such as Europe/Paris."
    ),
    "confirm_timezone": "In {zone} it's {local_time} right now. Is that your time?",
    "button_yes": "Yes",
    "button_no_other": "No, let me type it",
    "summary": (
        "Here's your plan:\n\n"
        "{plan}\n"
        "First dose: {start}\n"
        "Reminder: every night at {bedtime} ({zone})\n\n"
        "The first steps:\n{steps}\n\n"
        "Is this right?"
    ),
    "button_confirm": "Yes, start",
    "button_restart": "Start over",
    "enrolled": (
        "All set! I'll remind you at {bedtime} each night. You can send /today, /plan or "
        "/settings at any time, and /help if you're stuck."
    ),
    "already_enrolled": "Welcome back! Your reminders are on. /today shows tonight's dose.",
    "welcome_back_resumed": "Welcome back! I've turned your reminders on again, at {bedtime}.",
    "onboarding_resume": "Let's pick up where we left off.",
    "stale_button": "That question has passed. Here's where we are:",
    # Reminders
    "reminder": "🌙 Time for your LDN: {dose}.",
    "reminder_late": (
        "🌙 Sorry, this reminder is late: it was due at {due}. Tonight's dose is {dose}. "
        "If it's now too close to morning, check with your care team before taking it."
    ),
    "reminder_step_up": "This is a new, higher dose: step {step} of {steps}.",
    "reminder_missed_before": (
        "Last night's dose wasn't recorded. If you missed it, simply skip it: never take "
        "two doses to make up for one."
    ),
    "reminder_capsule_change": (
        "💊 {when} you move to {capsule} mg capsules. Ask your pharmacy for them now "
        "so they arrive in time."
    ),
    "tomorrow_night": "Tomorrow night",
    "in_nights": "In {days} nights",
    "reminder_held": "Your provider has asked you to stay on this dose for now.",
    "followup": "Just checking in: did you take tonight's {dose}?",
    "button_taken": "✅ Taken",
    "button_snooze": "⏰ Snooze 30 min",
    "button_skip": "⏭ Skip tonight",
    "recorded_taken": "✅ Recorded as taken. Sleep well!",
    "recorded_skipped": (
        "⏭ Recorded as skipped. Tomorrow, take your usual dose: never a double one."
    ),
    "recorded_snoozed": "⏰ Snoozed. I'll remind you again at {time}.",
    "toast_taken": "Recorded: taken",
    "toast_skipped": "Recorded: skipped",
    "toast_snoozed": "Snoozed for 30 minutes",
    "toast_already": "Already recorded as {status}.",
    "toast_too_late_to_snooze": "It's too late to snooze tonight. Tap Taken or Skip.",
    "toast_not_yours": "This button isn't for you.",
    "toast_unknown": "This button no longer works. Send /today for tonight's dose.",
    "status_taken": "taken",
    "status_skipped": "skipped",
    "status_missed": "missed",
    # Dose wording
    "dose": "{mg} mg ({count} × {capsule} mg {capsule_word})",
    "capsule_one": "capsule",
    "capsule_many": "capsules",
    # Patient commands
    "today": "Tonight, {night}: {dose}\nStep {step} of {steps}.",
    "today_status": "Tonight is recorded as {status}.",
    "today_next": "Next step: {dose} from {date}.",
    "today_last_step": "This is your plan's last step: you stay on this dose.",
    "today_held_next": "Your provider has you on this dose for now; the next step waits for them.",
    "today_before_start": "Your plan starts on {date}, with {dose}.",
    "today_reminder_at": "Your reminder comes at {bedtime}.",
    "today_paused": "Your reminders are paused. /settings turns them back on.",
    "plan_header": "Your plan ({plan}):",
    "plan_line": "{marker} Step {step}: {dose}, {when}",
    "plan_from_to": "{start} to {end}",
    "plan_from": "from {start}",
    "plan_waiting": "after your provider's go-ahead",
    "plan_legend": "▶ marks where you are.",
    "settings": (
        "Your settings:\nReminder: {bedtime} ({zone})\nReminders: {state}\n\n"
        "What would you like to change?"
    ),
    "settings_on": "on",
    "settings_off": "paused",
    "button_change_bedtime": "Change bedtime",
    "button_change_zone": "Change time zone",
    "button_pause": "Pause reminders",
    "button_resume": "Turn reminders on",
    "bedtime_changed": "Done: I'll remind you at {bedtime} from now on.",
    "zone_changed": "Done: your reminders follow {zone} time now.",
    "paused": (
        "Reminders are paused. Your plan and history are kept. Please tell your care team if "
        "you've stopped taking LDN. /settings turns reminders back on."
    ),
    "resumed": "Reminders are back on, at {bedtime}.",
    "resume_after_gap": (
        "It's been more than three weeks since your last reminder. If you stopped taking LDN, "
        "please ask {clinic} ({contact}) which dose to restart on before your next one."
    ),
    "stopped": (
        "I've stopped your reminders and kept your plan and history. Please let your care team "
        "know. Send /start whenever you want reminders again."
    ),
    "help": (
        "Here's what I can do:\n"
        "/today: tonight's dose and your next step\n"
        "/plan: your whole plan with dates\n"
        "/settings: change your bedtime or time zone, or pause reminders\n"
        "/stop: stop reminders (your data is kept)\n\n"
        "I can't give medical advice or change your dose. For that, contact {clinic}: {contact}. "
        "In an emergency, call {emergency}."
    ),
    "not_enrolled": "You're not set up yet. Send /start to begin.",
    "unknown_command": "I don't know that command. /help lists the ones I do.",
    "unknown_command_suggest": "I don't know that command. Did you mean /{command}?",
    "not_understood": (
        "Sorry, I can only read the commands in /help and answers to my questions. For anything "
        "about your health, contact {clinic}: {contact}. In an emergency, call {emergency}."
    ),
    "not_text": "I can only read text, sorry. /help shows what I can do.",
    "error": "Sorry, something went wrong on my side. Please try again in a minute.",
    # Menu commands (Telegram shows these in its command menu)
    "command_today": "Tonight's dose and the next step",
    "command_plan": "Your whole plan with dates",
    "command_settings": "Bedtime, time zone, pause reminders",
    "command_stop": "Stop reminders (your data is kept)",
    "command_help": "What I can do",
    "command_start": "Set up or turn reminders back on",
    # Plan names
    "plan_name_builtin-0.5": "0.5 mg capsules, up to 4.5 mg",
    "plan_name_builtin-1.5": "1.5 mg capsules, up to 4.5 mg",
    "plan_name_custom": "your provider's plan, up to {target} mg",
}


def t(key: str, **values: object) -> str:
    """Return the text for `key`, filled in."""
    return TEXTS[key].format(**values)
