"""Every sentence a patient reads, keyed, in one place a clinician can review in one sitting.

Tests assert on keys and structure, not on this prose. Placeholders use str.format names.
"""

from __future__ import annotations

from bot.ui.texts_provider import PROVIDER_TEXTS

TEXTS: dict[str, str] = {
    # Who is who: /whoami gives the Telegram ids a clinic's admin pastes into .env.
    "whoami": (
        "Your Telegram user id is:\n{user}\n\n"
        "If you run this bot for a clinic, put it in the bot's .env file: in PROVIDER_USER_IDS "
        "to invite patients and decide on alerts, in PROVIDER_CHAT_IDS to get alerts in this "
        "chat, and in ADMIN_USER_IDS to hear about alerts that could not be delivered. Then "
        "restart the bot."
    ),
    "whoami_group": (
        "This group's chat id is:\n{chat}\n\n"
        "To get the care team's alerts here, add it to PROVIDER_CHAT_IDS in the bot's .env file "
        "and restart the bot. Your own user id is {user}."
    ),
    # With no care team (ALLOW_NO_CARE_TEAM): nobody reads alerts, so no text claims anyone was
    # told. `messages.team_text` picks a `<key>_no_team` text over `<key>` then.
    "welcome_no_team": (
        "Hello! I'm the LDN helper for {clinic}.\n\n"
        "I can:\n"
        "• remind you to take your Low Dose Naltrexone at bedtime, every night\n"
        "• tell you tonight's dose, in mg and in capsules\n"
        "• show your whole titration plan, step by step\n"
        "• ask how you're feeling\n\n"
        "I can't:\n"
        "• pass anything on: no care team reads this bot, so tell {clinic} yourself about "
        "anything worrying\n"
        "• change your dose: only your provider does that\n"
        "• give medical advice\n"
        "• help in an emergency. If you feel very unwell, call {emergency} now.\n\n"
        "For anything about your treatment, contact {clinic}: {contact}."
    ),
    "screen_flagged_no_team": (
        "Thank you. Please don't start LDN until you've talked to {clinic} ({contact}) about "
        "these answers: no care team reads this bot, so nobody has seen them. Let's finish "
        "setting up in the meantime."
    ),
    "enrolled_waiting_no_team": (
        "All set, but please don't start LDN until you've talked to {clinic} ({contact}) about "
        "your safety answers. No care team reads this bot, so nobody here can check them, and I "
        "won't send reminders."
    ),
    "help_no_team": (
        "Here's what I can do:\n"
        "/today: tonight's dose and your next step\n"
        "/plan: your whole plan with dates\n"
        "/sideeffects: a few questions about how you're feeling (no care team reads them here: "
        "tell {clinic} about anything worrying)\n"
        "/settings: change your bedtime or time zone, or pause reminders\n"
        "/stop: stop reminders (your data is kept)\n"
        "/mydata: a copy of everything I keep about you; /delete: erase it\n\n"
        "I can't give medical advice or change your dose. For that, contact {clinic}: {contact}. "
        "In an emergency, call {emergency}."
    ),
    "command_sideeffects_no_team": "A few questions about how you're feeling",
    # While the care team has LDN stopped: /today, /plan, /settings and /start say so, and nothing
    # says "tonight's dose" or "your reminders are on" (bot/care/patient.py).
    "stop_paused": (
        "⛔ Your care team has paused LDN: please don't take it until they tell you. I won't send "
        "reminders until then."
    ),
    "stop_withheld": (
        "⛔ Please don't take LDN until your care team replies. I won't send reminders until "
        "then, and I'll tell you here as soon as they reply."
    ),
    "stop_withheld_no_team": (
        "⛔ Please don't take LDN until you've talked to {clinic} ({contact}). No care team reads "
        "this bot, so I won't send reminders."
    ),
    "welcome_back_stopped": "Welcome back!\n\n{stop}",
    "settings_stopped": (
        "Your settings:\nReminder: {bedtime} ({zone})\nReminders: {state}\n\n{stop}\n\n"
        "You can still change your bedtime or time zone. Pausing reminders yourself, or ending "
        "your own pause, doesn't change the above. What would you like to change?"
    ),
    "settings_off_team": "off",
    "settings_off_own": "off, and paused by you",
    "button_resume_own": "End my own pause",
    "own_paused_stopped": (
        "Done: your own pause is on too. It stays on until you end it, with /settings or /start."
    ),
    "own_resumed_stopped": "Done: your own pause is off.",
    # The next step waits for a concern, not for a provider's hold: the bot's doing, said so.
    "today_held_next_bot": (
        "Your next step waits: I've paused your increase while your care team looks at your "
        "answers."
    ),
    "today_held_next_bot_no_team": (
        "Your next step waits: I've paused your increase. Please talk to {clinic} ({contact}) "
        "about your answers."
    ),
    # Onboarding
    "welcome": (
        "Hello! I'm the LDN helper for {clinic}.\n\n"
        "I can:\n"
        "• remind you to take your Low Dose Naltrexone at bedtime, every night\n"
        "• tell you tonight's dose, in mg and in capsules\n"
        "• show your whole titration plan, step by step\n"
        "• ask how you're feeling, and pass anything worrying to your care team\n\n"
        "I can't:\n"
        "• change your dose: only your provider does that\n"
        "• give medical advice\n"
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
        "Which night do we start on? Tap a button, or type a date ahead, such as 2026-12-01 "
        "or 1 Dec."
    ),
    "button_today": "Tonight",
    "button_tomorrow": "Tomorrow night",
    "bad_start": (
        "Sorry, I couldn't read that as a date. Try 2026-12-01 or 1 Dec, or tap a button."
    ),
    # The first night: tonight or ahead, never in the past. A date in the past (a typo, a guess)
    # would start the plan at a later step on the patient's word; a patient already on LDN starts
    # at their dose only through a provider's link (/invite ... from <mg>).
    "start_past": (
        "That date has passed. The first night is tonight or a night ahead: tap a button, "
        "or type a date in the next {days} days.\n\n"
        "If you already take LDN, please ask {clinic} ({contact}) for a link that starts you "
        "at the dose you take now."
    ),
    "start_too_far": (
        "That's more than {days} days ahead. Please pick a night in the next {days} days."
    ),
    "start_passed": "The night you picked to start, {date}, has passed. Let's pick it again.",
    "invite_plan_from": (
        "Your provider has prescribed: {plan}. You go on from step {step} of {steps}, the dose "
        "you take now: {dose}."
    ),
    "invite_created_from": (
        "Invitation for {label}: {plan}, from step {step} of {steps}: {dose}, the dose they "
        "take now.\nSend this link to the patient; it works once, until {expires} (UTC):\n{link}"
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
    "reminder_morning": "☀️ Good morning! Time for your LDN: {dose}.",
    "reminder_late": (
        "🌙 Sorry, this reminder is late: it was due at {due}. Tonight's dose is {dose}. If "
        "you're still up, you can take it now. If you've gone to bed, or it's nearly morning, "
        "skip it tonight and take your next dose at the usual time. Never take two to make up."
    ),
    "reminder_capsule_switch": (
        "💊 New capsules tonight: {capsule} mg each. Take {count}, not {old_count}."
    ),
    "reminder_step_up": "This is a new, higher dose: step {step} of {steps}.",
    "reminder_missed_before": (
        "Last night's dose wasn't recorded. If you missed it, simply skip it: never take "
        "two doses to make up for one."
    ),
    "reminder_capsule_change": (
        "💊 {when} you move to {capsule} mg capsules. You may need a new prescription for "
        "them: ask your clinic or pharmacy now, so they arrive in time."
    ),
    "tomorrow_night": "Tomorrow night",
    "in_nights": "In {days} nights",
    "reminder_held": (
        "Your dose increase is paused while your care team looks at your answers. Stay on "
        "this dose until they reply."
    ),
    "reminder_held_no_team": (
        "Your dose increase is paused: please talk to your clinic before it goes up. Stay on "
        "this dose until then."
    ),
    "reminder_held_provider": "Your care team asks you to stay on this dose for now.",
    # Never two doses close together: a reminder put off, and a missed night's one button
    "button_took_it": "✅ I did take it",
    "recorded_taken_late": "✅ Thank you for telling me: recorded as taken.",
    "recorded_skipped_late": (
        "⏭ Thank you: recorded as skipped. Take your next dose at the usual time, never two."
    ),
    "reminder_put_off": (
        "⏳ Your next reminder is on {day} at {time}. Your last dose was less than {hours} hours "
        "before the new time, and LDN is taken once a day: never two doses close together."
    ),
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
    "plan_before": "before you started with me",
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
        "It's been more than a week since you last took LDN. Your dose stays where it was and "
        "won't go up until your care team has looked. If you're unsure about restarting, "
        "please ask {clinic} ({contact}) before your next dose."
    ),
    "stopped": (
        "I've stopped your reminders and kept your plan and history. Please let your care team "
        "know. Send /start whenever you want reminders again."
    ),
    "help": (
        "Here's what I can do:\n"
        "/today: tonight's dose and your next step\n"
        "/plan: your whole plan with dates\n"
        "/sideeffects: tell your care team how you're feeling\n"
        "/settings: change your bedtime or time zone, or pause reminders\n"
        "/stop: stop reminders (your data is kept)\n"
        "/mydata: a copy of everything I keep about you; /delete: erase it\n\n"
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
    # Invitations and screening
    "invite_needed": (
        "Hello! I'm the LDN helper for {clinic}. To start, I need the personal link your "
        "provider gives you. Please ask {clinic} ({contact}) for it, then tap it to come back."
    ),
    "invite_invalid": (
        "Sorry, that link doesn't work any more: it may have been used already, withdrawn by "
        "the clinic, or be more than a few days old. Please ask {clinic} ({contact}) for a new one."
    ),
    "invite_plan": "Your provider has prescribed: {plan}.",
    "screen": (
        "Before we set up your reminders, a few safety questions. Does any of this apply to you "
        "now?\n\n"
        "• taking opioid pain medicine, or surgery or dental work planned\n"
        "• severe liver or kidney disease\n"
        "• schizophrenia or a similar condition\n"
        "• pregnant, trying for a baby, or breastfeeding\n"
        "• taking thyroid hormone medicine\n"
        "• an organ transplant, or medicine that suppresses the immune system\n"
        "• cancer being treated now"
    ),
    "button_screen_none": "None of these",
    "button_screen_some": "Yes, one or more",
    "screen_q_opioids": (
        "Are you taking opioid pain medicine, or is surgery or dental work planned?"
    ),
    "screen_q_liver_kidney": "Do you have severe liver or kidney disease?",
    "screen_q_psychiatric": "Have you been diagnosed with schizophrenia or a similar condition?",
    "screen_q_pregnancy": "Are you pregnant, trying for a baby, or breastfeeding?",
    "screen_q_thyroid": "Do you take thyroid hormone medicine (such as levothyroxine)?",
    "screen_q_immune": (
        "Have you had an organ transplant, or do you take medicine that suppresses the immune "
        "system?"
    ),
    "screen_q_cancer": "Are you being treated for cancer now?",
    "button_yes_short": "Yes",
    "button_no_short": "No",
    "screen_flagged": (
        "Thank you. Your care team will look at these answers before your first dose; I've sent "
        "them over. Let's finish setting up in the meantime."
    ),
    "enrolled_waiting": (
        "All set! Please don't start LDN yet: your care team is checking your answers first. "
        "I'll tell you here as soon as they have, and your reminders will start then."
    ),
    # Side-effect check-ins
    "checkin_intro": (
        "Time for a quick check-in about the last 7 days on {dose}. It takes a few taps."
    ),
    "checkin_intro_step_up": (
        "You've been on {dose} for a few nights now. A quick check-in about how the last 7 days "
        "have been: it takes a few taps."
    ),
    "checkin_intro_tolerance": (
        "Your next dose increase is coming up on {date}. Before it, a quick check-in about the "
        "last 7 days on {dose}: it takes a few taps."
    ),
    "button_checkin_start": "Start",
    "button_checkin_later": "Not now",
    "checkin_later": "No problem. Send /sideeffects whenever you're ready.",
    "checkin_later_tolerance": (
        "No problem. Please answer before {date} with /sideeffects: without your answers, "
        "your dose stays the same and I ask your care team."
    ),
    "checkin_flags": (
        "First, the important ones. In the last 7 days, have you had any of these? Tap each "
        "that applies, then Done."
    ),
    "flag_breathing": "Trouble breathing, or a swollen face, lips or throat",
    "flag_self_harm": "Thoughts of harming yourself",
    "flag_opioids": "Took any opioid pain medicine",
    "flag_surgery": "Surgery or dental work coming up",
    "flag_withdrawal": "Sweating, shaking, runny nose or goose bumps after a dose",
    "flag_liver": "Yellow skin or eyes, or dark urine",
    "flag_pregnancy": "Pregnant, trying for a baby, or breastfeeding",
    "flag_allergy": "Hives or a new rash",
    "button_flags_none": "None of these",
    "button_flags_done": "Done",
    "checkin_effects": "Any side effects in the last 7 days?",
    "button_effects_none": "No, none",
    "button_effects_some": "Yes, some",
    "checkin_effect": "{effect}: how much, over the last 7 days?",
    "effect_sleep": "Vivid dreams or poor sleep",
    "effect_stomach": "Nausea or upset stomach",
    "effect_tiredness": "Tiredness",
    "effect_restless": "Restlessness or anxiety",
    "effect_headache": "Headache",
    "effect_mood": "Low mood",
    "grade_0": "None",
    "grade_1": "Mild",
    "grade_2": "Moderate",
    "grade_3": "Severe",
    "checkin_thyroid": (
        "You take thyroid medicine. In the last 7 days, have you had any of these? Tap each "
        "that applies, then Done."
    ),
    "thyroid_racing_heart": "Racing or pounding heart",
    "thyroid_tremor": "Shaky hands",
    "thyroid_heat": "Feeling too hot",
    "thyroid_anxiety_insomnia": "New anxiety or trouble sleeping",
    "checkin_words": (
        "Anything else you'd like your care team to know? Type it here, or tap Nothing else."
    ),
    "button_nothing_else": "Nothing else",
    "checkin_stale": "That check-in has finished. Send /sideeffects to start a new one.",
    "checkin_thanks": "Thank you for your answers.",
    "checkin_none": "Thank you! Nothing in your answers needs a change. Keep going with your plan.",
    "checkin_info": "Thank you! What you describe is common on LDN and usually settles.",
    "tip_sleep": "Vivid dreams usually fade within a few weeks.",
    "tip_stomach": "A small snack with your dose can settle your stomach.",
    "tip_tiredness": "Tiredness usually eases within two to four weeks.",
    "tip_restless": "Restlessness usually eases within two to four weeks.",
    "tip_headache": "Drinking enough water through the day can help with headaches.",
    "checkin_mood_watch": (
        "Low mood matters: if it gets worse, tell me with /sideeffects or call your care team."
    ),
    "reason_mild_mood": "Mild low mood",
    "checkin_info_end": "If anything gets worse, send /sideeffects and tell me.",
    # Check-ins keep every flag (bot/care/checkins.py): a ticked red flag is passed on at once,
    # words the bot cannot judge go to a person, and a check-in left unfinished is read all the
    # same. What the patient must do meanwhile follows each of these, from bot/care/concerns.py.
    "checkin_flag_kept": (
        "That one stays ticked: it's already noted. If it was a mistake, please tell your clinic."
    ),
    "checkin_done_raised": (
        "Thank you, that's the end of this check-in. Please keep to what I said above."
    ),
    "checkin_words_unread": (
        "Thank you for telling me. I can't judge your words myself, so a person should read them."
    ),
    "checkin_expired_raised": (
        "You didn't finish your check-in, so I've gone by the answers you gave. Some of them "
        "need a person to look at them."
    ),
    # A concern raised: what to do tonight while the care team decides (bot/care/concerns.py). The
    # bot speaks for itself here: "your care team asks" is only ever said after a provider decided.
    "concern_emergency": (
        "⚠️ Please call {emergency} now, or go to the nearest emergency department."
    ),
    "concern_crisis": (
        "If you're having thoughts of harming yourself, you can call or text {crisis} at any "
        "hour. You're not alone."
    ),
    "concern_withhold": (
        "Please don't take any LDN until your care team replies. I've stopped your reminders "
        "until then, and I'll tell you here as soon as they do."
    ),
    "concern_withhold_kept": (
        "Please don't take any LDN until your care team or your clinic has replied to you."
    ),
    "concern_withhold_no_team": (
        "Please don't take any LDN until you've spoken to {clinic} ({contact}). I've stopped "
        "your reminders."
    ),
    "concern_hold_no_team": (
        "I've paused your next dose increase: please talk to {clinic} ({contact}) before it "
        "goes up. Keep taking {dose} as usual, and no more."
    ),
    "concern_hold_tonight_no_team": (
        "I've paused tonight's dose increase: please talk to {clinic} ({contact}) before it "
        "goes up. If you haven't taken tonight's dose yet, take your previous dose instead: "
        "{dose}. No more than that."
    ),
    "concern_hold": (
        "I've paused your next dose increase while your care team looks at this. Keep taking "
        "{dose} as usual, and no more, until they reply."
    ),
    "concern_hold_tonight": (
        "I've paused tonight's dose increase while your care team looks at this. If you haven't "
        "taken tonight's dose yet, take your previous dose instead: {dose}. No more than that."
    ),
    "concern_unwell": "If you feel very unwell, call {emergency}.",
    "concern_sent": "I've sent this to your care team now.",
    "concern_not_sent": (
        "This bot has no care team set up to read it, so please contact your clinic yourself."
    ),
    "tolerance_held_no_team": (
        "Your dose increase is on hold: I didn't get your check-in answers. Please talk to your "
        "clinic; until then, stay on this dose."
    ),
    "tolerance_held": (
        "Your dose increase is on hold: I didn't get your check-in answers, so I've asked your "
        "care team. Until they reply, stay on this dose."
    ),
    # What the care team decided, as the patient hears it
    "decided_ack": (
        "Your care team has seen what you told me and will be in touch if anything changes."
    ),
    "decided_continue": (
        "Your care team has reviewed your answers: carry on with your plan. /today shows "
        "tonight's dose."
    ),
    "decided_continue_start": (
        "Good news: your care team has checked your answers. Your first dose is tonight, and "
        "I'll remind you at {bedtime}."
    ),
    "decided_cleared": (
        "Your care team has checked your answers: you can start LDN once we've finished setting "
        "up. Send /start to carry on."
    ),
    "decided_lifted": "Your care team has replied: you can take LDN again.",
    "decided_lifted_start": "Your care team has replied: you can start LDN.",
    "decided_while_stopped": "Your care team has looked at one of your messages.",
    "decided_hold": (
        "Your care team asks you to stay on {dose} for now. Your next increase waits until "
        "they say so."
    ),
    "decided_back": (
        "Your care team has lowered your dose to {dose}, {when}. You'll stay on it until they "
        "say otherwise."
    ),
    "from_tonight": "from tonight",
    "from_next_night": "from tomorrow night (tonight's dose is already recorded)",
    "decided_pause": (
        "Your care team asks you to stop taking LDN for now. I won't send reminders until they "
        "restart it. If you have questions, contact {clinic}: {contact}."
    ),
    "decided_morning": (
        "Your care team suggests taking your LDN in the morning instead of at bedtime. What "
        "time would you like your reminder?"
    ),
    "morning_changed": "Done: I'll remind you at {time} each morning.",
    "care_team_message": "💬 From your care team:\n\n{text}",
    # Provider alerts
    "tier_emergency": "🚨 EMERGENCY",
    "tier_urgent": "🔴 URGENT",
    "tier_routine": "🟡 For review",
    "alert": "{tier} · patient {label}\n{plan}\nNow: {dose} (step {step} of {steps}){held}",
    "alert_held": "\nHeld at this dose until a provider decides.",
    "alert_waiting": "\nFirst dose waits for a provider.",
    "alert_reasons": "What was reported:\n{reasons}",
    "alert_words": "In their words: “{words}”",
    "alert_history": "Earlier reports:\n{lines}",
    "alert_adherence": "Doses taken: {week} over the last 7 nights, {month} over 30.",
    # A later finding about the same patient, folded into this open alert.
    "alert_new": "🆕 New at {at} ({count} reports in this alert): {reasons}",
    "alert_new_words": "Their newest words: “{words}”",
    "alert_reply_hint": "Reply to this message to write to the patient.",
    "alert_again": "⏰ Sent again ({round}): nobody has acknowledged this yet.",
    "alert_admins_only": (
        "The providers have had this {times} times with no answer, so from now on only the "
        "admins get it. Please make sure someone looks at it."
    ),
    "alert_acknowledged": "👀 Acknowledged by {who} at {at}.",
    "alert_decided": "✅ {decision} by {who} at {at}. The patient has been told.",
    "button_decide_ack": "👀 Acknowledge",
    "button_decide_continue": "▶️ Continue plan",
    "button_decide_hold": "⏸ Hold at current dose",
    "button_decide_back": "⬇️ Back to previous dose",
    "button_decide_pause": "⛔ Pause LDN",
    "button_decide_morning": "☀️ Move dose to morning",
    "decision_ack": "Acknowledged",
    "decision_continue": "Plan continued",
    "decision_hold": "Held at the current dose",
    "decision_back": "Back to the previous dose",
    "decision_pause": "LDN paused",
    "decision_morning": "Dose moved to the morning",
    "toast_decided": "Done: {decision}.",
    "toast_already_decided": "Already handled: {decision} by {who}.",
    "toast_not_provider": "Only the care team's providers can decide on this.",
    "toast_gone": "This alert is no longer open.",
    "toast_others_open": (
        "Not yet: alert {ids} about this patient also needs a decision (or was decided since)."
    ),
    "relayed": "Sent to patient {label}.",
    "relay_refused": "Only the care team's providers can write to patients.",
    "relay_failed": "I couldn't deliver that to patient {label}: they may have blocked the bot.",
    "admin_delivery_failed": (
        "⚠️ I couldn't deliver alert #{id} ({tier}) to chat {chat}: {error}. I'll keep trying. "
        "If this is a provider's chat, ask them to open the bot and press Start."
    ),
    # Repeats of a failing chat fold into one message, edited as the count grows.
    "admin_delivery_failing": (
        "⚠️ Alerts are not reaching chat {chat}: {count} failed tries since {since}. The latest "
        "was alert #{id} ({tier}): {error}. I keep trying. If this is a provider's chat, ask them "
        "to open the bot and press Start."
    ),
    "admin_chat_moved": (
        "⚠️ I couldn't deliver alert #{id} ({tier}) to the care-team group {chat}: it has become "
        "a supergroup, and its id is now {new}. Put {new} in PROVIDER_CHAT_IDS in place of {chat} "
        "and restart me. I'll keep trying until then."
    ),
    # At start-up, or when Telegram says so: a group gets a new id when it becomes a supergroup.
    "admin_group_moved": (
        "⚠️ The care-team group {chat} has become a supergroup, and its id is now {new}. Put {new} "
        "in PROVIDER_CHAT_IDS in place of {chat} and restart me: until then, its alerts can't "
        "reach it."
    ),
    "admin_unreachable_chat": (
        "⚠️ I can't reach the provider chat {chat} ({error}). Alerts for it will wait. The "
        "provider must open the bot and press Start, or add it to the group."
    ),
    "admin_database_down": (
        "⚠️ My database is not answering. A patient wrote about a possible emergency: I gave "
        "them the emergency number, and I'm keeping their words to pass on when the database "
        "is back. Please check the database."
    ),
    "admin_no_recipients": "⚠️ No provider chat is set in PROVIDER_CHAT_IDS: alerts come to you.",
    # The patient's own data
    "mydata_sent": (
        "Here is everything I keep about you, as a file you can open or keep. /delete erases it."
    ),
    "mydata_none": "I don't keep anything about you.",
    "delete_confirm": (
        "This erases your plan, your nights, your check-ins and everything your care team decided "
        "here, and stops your reminders. It can't be undone. /mydata saves a copy first. Delete "
        "everything?"
    ),
    "button_delete_yes": "Yes, delete everything",
    "button_delete_no": "No, keep it",
    "deleted": (
        "Done: I've deleted everything I kept about you. Please tell {clinic} if you've stopped "
        "LDN. Send /start if you ever want reminders again."
    ),
    "delete_kept": "Nothing was deleted.",
    "alert_erased": "Patient {label} deleted their data; this alert's details are gone.",
    "alert_expired": (
        "Patient {label}'s records reached the end of the clinic's retention period and were "
        "erased; this alert's details are gone."
    ),
    "patient_left": "Patient {label} deleted their data and no longer uses the bot.",
    "patient_left_open": (
        "⚠️ {count} alert(s) about them were still open ({tiers}): please contact them directly."
    ),
    "command_mydata": "Get a copy of everything I keep about you",
    "command_delete": "Delete everything I keep about you",
    # Provider commands
    "invite_usage": (
        "To invite a patient: /invite <label> <plan>\n"
        "The label is initials or a chart number, never a full name.\n"
        "Plans: 0.5 (0.5 mg capsules to 4.5 mg), 1.5 (1.5 mg capsules to 4.5 mg), or custom: "
        "/invite <label> custom <start mg> <step mg> <nights per step> <target mg> "
        "<capsule mg,...>\nExample: /invite CH-1042 custom 1 1 7 4.5 0.5,1.5\n"
        "A patient already taking LDN goes on from the dose they take now: add from <mg>, "
        "for example /invite CH-1042 0.5 from 2"
    ),
    "invite_bad_label": (
        "The label must be 1 to 32 letters, digits, dots or dashes (initials or a chart number)."
    ),
    "invite_label_taken": (
        "A patient or a waiting invitation is already labelled {label}. Pick another label."
    ),
    "invite_not_here": (
        "Invitations are made only in a private chat with me or in the care team's group: "
        "anyone here could use the link."
    ),
    "invite_bad_plan": "I can't prescribe that plan: {reason}",
    "invite_created": (
        "Invitation for {label}: {plan}.\nSend this link to the patient; it works once, "
        "until {expires} (UTC):\n{link}"
    ),
    "revoke_usage": "To withdraw a link that hasn't been used yet: /revoke <label>",
    "revoked": (
        "The link for {label} no longer works. To send a new one: /invite {label} and the plan."
    ),
    "revoke_none": (
        "There is no waiting invitation for {label}: its link has been used, has expired, or "
        "was never made."
    ),
    "not_provider": "Sorry, this command is for the care team.",
    "provider_help": (
        "Care-team commands:\n"
        "/invite: prescribe a plan and get a patient's link\n"
        "/revoke <label>: withdraw a link that hasn't been used\n"
        "/patients: everyone, with dose and adherence\n"
        "/patient <label>: one patient's plan, history and reports\n"
        "/escalations: alerts waiting for a decision\n"
        "/stats: figures for admins\n"
        "Reply to an alert to write to that patient."
    ),
    # Words out of the blue (bot/care/inbox.py): what the bot does not take as an answer goes to a
    # person, as a message (not an alert). Never a reassurance after words it did not understand.
    "inbox_passed_on": (
        "Thank you. I've passed your message on to your care team, and they'll answer you here."
    ),
    "inbox_edit_passed_on": (
        "I've passed your edited message on to your care team. Editing a message doesn't change "
        "an answer you already gave me."
    ),
    "inbox_nobody": (
        "No one from a care team reads messages in this bot, so I can't pass this on. Please "
        "contact {clinic}: {contact}."
    ),
    # Said under every message passed on: the words were not understood, and some that a pattern
    # misses are about self-harm, so the crisis line is always named too.
    "inbox_emergency_line": (
        "If you feel very unwell, or it's an emergency, call {emergency} now. If you're having "
        "thoughts of harming yourself, you can call or text {crisis} at any hour."
    ),
    "inbox_kept": (
        "I couldn't pass this on to your care team just now. I've kept your words, and I'll "
        "send them as soon as I can."
    ),
    "inbox_kept_no_team": (
        "I couldn't save this just now. I'll keep trying, but please contact {clinic} yourself "
        "too: {contact}."
    ),
    "inbox_emergency_stranger": (
        "⚠️ Please call {emergency} now, or go to the nearest emergency department. If you're "
        "having thoughts of harming yourself, you can call or text {crisis} at any hour."
    ),
    "inbox_not_passed_on": (
        "I can't pass on stickers, locations or contacts. To tell your care team something, "
        "type it, or send a voice note or a photo."
    ),
    "inbox_chat_thanks": "You're welcome!",
    "inbox_chat_ok": "👍",
    "inbox_chat_hello": "Hello! /help shows what I can do.",
    "inbox_chat_night": "Good night!",
    # ... and how a patient's message reads to the care team
    "inbox_message": "💬 Message from patient {label}",
    "inbox_kind_voice": "They sent a voice note (below).",
    "inbox_kind_photo": "They sent a photo (below).",
    "inbox_kind_video": "They sent a video (below).",
    "inbox_kind_video_note": "They sent a video message (below).",
    "inbox_kind_document": "They sent a file (below).",
    "inbox_kind_audio": "They sent an audio file (below).",
    "inbox_message_edited": "They edited an earlier message. It now reads:",
    "inbox_message_reply": "Answering the care team's message: “{quote}”",
    "inbox_message_words": "“{words}”",
    "inbox_message_note": (
        "This is a message, not an alert: nothing was held or stopped. Tap Reply, or reply to "
        "this message, to answer them."
    ),
    "button_inbox_reply": "↩️ Reply",
    "inbox_reply_prompt": (
        "Write your answer to patient {label} as a reply to this message. They'll get it as a "
        "message from their care team."
    ),
    "inbox_reply_toast": "Write your answer in our private chat.",
    "inbox_reply_unreachable": (
        "I can't write to you yet: open a private chat with me and press Start, then try again."
    ),
    # Patients asking about side effects
    "command_sideeffects": "Tell your care team how you're feeling",
    # Plan names
    "plan_name_builtin-0.5": "0.5 mg capsules, up to 4.5 mg",
    "plan_name_builtin-1.5": "1.5 mg capsules, up to 4.5 mg",
    "plan_name_custom": "your provider's plan, up to {target} mg",
}


# The care team's views keep their sentences in their own file, merged here: one catalog.
TEXTS.update(PROVIDER_TEXTS)


def t(key: str, **values: object) -> str:
    """Return the text for `key`, filled in."""
    return TEXTS[key].format(**values)
