"""Every sentence of the care team's read-only views (/patients, /patient, /escalations, /stats).

Compact and scannable: a provider reads these between patients. Placeholders use str.format names.
"""

from __future__ import annotations

PROVIDER_TEXTS: dict[str, str] = {
    # Who may see what
    "cl_refused": "Sorry, this command is for the care team.",
    "cl_refused_admin": "Sorry, these figures are for the clinic's admins.",
    # /patients
    "cl_patients_header": "Patients ({count}), by label. Adherence: last 7 nights / last 30.",
    "cl_patients_none": "No patients are enrolled yet.",
    "cl_patients_more": "(continued)",
    "cl_waiting_header": "Waiting to enroll ({count}):",
    "cl_waiting_link": "{label} · link not used yet, valid until {expires} UTC",
    "cl_waiting_link_from": (
        "{label} · link not used yet, valid until {expires} UTC · from step {step}, {mg} mg"
    ),
    "cl_waiting_enrolling": "{label} · opened the link on {date}, hasn't finished enrolling",
    "cl_waiting_revoke": "To withdraw a link: /revoke <label>",
    "cl_patient_line": "{label} · {dose} · 7n {week} · 30n {month}{open}{markers}",
    "cl_line_open": " · ⚠️ {count} open",
    "cl_dose_step": "{mg} mg, step {step} of {steps}",
    "cl_dose_not_started": "starts {date}",
    "cl_marker_paused": "⏸ paused",
    "cl_marker_provider_paused": "⛔ LDN paused",
    "cl_marker_blocked": "🚫 blocked the bot",
    "cl_marker_clearance": "⏳ awaiting clearance",
    "cl_marker_held": "✋ held",
    "cl_marker_morning": "☀️ morning dose",
    # /patient <label>
    "cl_patient_usage": (
        "Usage: /patient <label>, for example /patient CH-1042. /patients lists the labels."
    ),
    "cl_patient_unknown": (
        "I don't know a patient labelled {label}. /patients lists everyone enrolled."
    ),
    "cl_patient_title": "Patient {label}",
    "cl_patient_status": "Status: {markers}",
    "cl_patient_plan": "Plan: {plan}",
    "cl_patient_now": "Now: {dose}, step {step} of {steps}",
    "cl_patient_before_start": "Starts {date} with {dose}",
    "cl_patient_reminder": "Reminder: {time}, {city} time ({zone})",
    "cl_patient_holds": "Holds: {holds}",
    "cl_patient_no_holds": "Holds: none",
    "cl_hold_open": "from {start}, until a provider releases it",
    "cl_hold_closed": "{start} to {end}",
    "cl_patient_steps": "Steps:",
    "cl_patient_nights": "Last 14 nights, oldest first: {strip}",
    "cl_patient_nights_legend": "✅ taken ⏭ skipped ❌ missed ⏳ not answered yet ▫ no reminder",
    "cl_patient_adherence": "Adherence: {week} of the last 7 nights, {month} of the last 30",
    "cl_patient_open": "Open escalations: {count} (/escalations)",
    "cl_patient_reports": "Last check-ins:",
    "cl_patient_no_reports": "Last check-ins: none completed yet",
    "cl_report_line": "• {date} · {mg} mg · {tier}: {findings}",
    "cl_report_nothing": "no side effects",
    "cl_report_flags": "red flags: {flags}",
    "cl_report_thyroid": "thyroid signs: {signs}",
    "cl_report_words": "  In their words: “{words}”",
    "cl_patient_audit": "Last actions:",
    "cl_patient_no_audit": "Last actions: none",
    "cl_audit_line": "• {at} UTC · {actor} · {action}",
    "cl_provider_id": "provider {id}",
    "cl_someone": "someone",
    # The daily digest (CARE_TEAM_DIGEST_AT)
    "digest_header": "📋 Your daily summary, {day}",
    "digest_enrolled": "New since yesterday ({count}): {labels}",
    "digest_enrolled_none": "No one new enrolled since yesterday.",
    "digest_waiting": (
        "Alerts waiting for a decision: {count} ({urgent} urgent). "
        "The oldest came {oldest}. /escalations shows them."
    ),
    "digest_waiting_none": "No alert is waiting for a decision.",
    "digest_low": "Took fewer than half of their doses over the last 7 nights:\n{lines}",
    "digest_low_line": "• {label}: {percent}",
    "digest_low_none": "Everyone took at least half of their doses over the last 7 nights.",
    "digest_footer": "/patients shows everyone.",
    # /escalations
    "cl_escalations_none": "Nothing is waiting: every escalation has been decided. 🌿",
    "cl_escalations_header": "Open escalations ({count}), oldest first:",
    "cl_escalation_line": "#{id} {tier} · {label} · {age} · {status}",
    "cl_escalation_reasons": "   {reasons}",
    "cl_status_open": "open",
    "cl_status_acknowledged": "acknowledged",
    "cl_age_now": "just now",
    "cl_age_minutes": "{n} min ago",
    "cl_age_hours": "{n} h ago",
    "cl_age_days": "{n} d ago",
    # Tiers
    "cl_tier_emergency": "🚨 emergency",
    "cl_tier_urgent": "🔴 urgent",
    "cl_tier_routine": "🟡 routine",
    "cl_tier_info": "🟢 info",
    "cl_tier_none": "⚪ nothing to act on",
    # Reasons, as providers read them
    "cl_reason_severe": "severe {subject}",
    "cl_reason_worse_two_grades": "{subject} two grades worse than last time",
    "cl_reason_moderate_twice": "{subject} moderate twice in a row",
    "cl_reason_lasting": "{subject} for over 4 weeks on this dose",
    "cl_reason_flag": "red flag: {subject}",
    "cl_reason_words": "their words mention {subject}",
    "cl_reason_words_unread": "their own words, which the bot can't judge",
    "cl_reason_screening": "screening: {subject}",
    "cl_reason_expected": "mild {subject}",
    "cl_reason_missed_three": "three nights in a row missed or skipped",
    "cl_reason_blocked_bot": "blocked the bot: reminders can't reach them",
    "cl_reason_thyroid_over_replacement": "possible thyroid over-replacement",
    "cl_reason_mood_worse": "low mood getting worse",
    "cl_reason_moderate_mood": "moderate low mood",
    "cl_reason_mild_mood": "mild low mood",
    "cl_reason_tolerance_unanswered": "tolerance check before the increase not answered",
    "cl_reason_resume_after_gap": "restarting after more than a week without LDN",
    # What the reasons are about
    "cl_effect_sleep": "vivid dreams or poor sleep",
    "cl_effect_stomach": "nausea or upset stomach",
    "cl_effect_tiredness": "tiredness",
    "cl_effect_restless": "restlessness or anxiety",
    "cl_effect_headache": "headache",
    "cl_effect_mood": "low mood",
    "cl_subject_breathing": "trouble breathing or swelling",
    "cl_subject_self_harm": "thoughts of self-harm",
    "cl_subject_opioids": "opioids",
    "cl_subject_surgery": "surgery or dental work",
    "cl_subject_withdrawal": "withdrawal signs",
    "cl_subject_liver": "liver signs",
    "cl_subject_pregnancy": "pregnancy or breastfeeding",
    "cl_subject_allergy": "hives or rash",
    "cl_subject_mood": "low mood",
    "cl_subject_liver_kidney": "severe liver or kidney disease",
    "cl_subject_psychiatric": "schizophrenia or similar",
    "cl_subject_thyroid": "takes thyroid hormone",
    "cl_subject_immune": "transplant or immunosuppressants",
    "cl_subject_cancer": "active cancer",
    "cl_subject_racing_heart": "racing heart",
    "cl_subject_tremor": "tremor",
    "cl_subject_heat": "feeling too hot",
    "cl_subject_anxiety_insomnia": "new anxiety or insomnia",
    "cl_grade_1": "mild",
    "cl_grade_2": "moderate",
    "cl_grade_3": "severe",
    # /stats
    "cl_stats": (
        "Figures at {now} UTC\n"
        "Patients: {enrolled} enrolled · {receiving} receiving reminders · {paused} paused · "
        "{blocked} blocked the bot · {clearance} awaiting clearance\n"
        "Nights, last 30 days: {taken} taken · {skipped} skipped · {missed} missed · "
        "adherence {adherence}\n"
        "Escalations, last 30 days: {escalations} ({tiers}) · {decided} decided\n"
        "Median time to first response: {median}\n"
        "Alert copies still being tried: {undelivered}\n"
        "Invitations outstanding: {invites}"
    ),
    "cl_stats_tier": "{tier} {count}",
    "cl_stats_minutes": "{n} min",
    "cl_none": "–",
    # Provider views tell the truth (issue 8): the state of an alert, what the patient was told,
    # what earlier reports found, and a patient's plain message passed on.
    "cl_alert_withheld": "\nLDN withheld until a provider decides.",
    "cl_alert_held_by_provider": "\nHeld at this dose by a provider.",
    "cl_alert_told": "Patient told: {what}.",
    "cl_alert_told_withhold": "not to take LDN until you reply",
    "cl_alert_told_hold": "to stay on their current dose; the increase waits for you",
    "cl_alert_told_none": "no change to their dose",
    "cl_alert_told_emergency": "to call {emergency}",
    "cl_alert_told_crisis": "to call or text the crisis line {crisis}",
    "cl_alert_told_and": "{items}, and {last}",
    "cl_report_said": "said: {subjects}",
    "cl_report_message": "a message, no red-flag words recognised",
    "cl_report_typed": "added their own words",
    "cl_tier_message": "💬 message",
    "cl_marker_withheld": "🛑 LDN withheld",
    "cl_reason_message": "a message from the patient",
    "cl_subject_fainting": "fainting or passing out",
    "cl_subject_seizure": "a seizure",
    "cl_subject_vomiting_blood": "vomiting blood",
    "cl_subject_vomiting": "vomiting that won't stop",
    "cl_subject_chest_pain": "chest pain",
    "cl_subject_palpitations": "palpitations or a racing heart",
    "cl_subject_overdose": "too much LDN or a double dose",
    "cl_subject_hallucinations": "hallucinations",
    "cl_subject_headache_worst": "worst-ever headache",
    "cl_subject_belly_pain": "severe belly pain",
    "cl_subject_mood_worse": "low mood getting worse",
    "cl_subject_hopeless": "hopelessness",
}
