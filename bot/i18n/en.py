"""English messages: the reference catalogue. Every other language falls back to these keys."""

MESSAGES: dict[str, str] = {
    # errors
    "error.generic": "Something went wrong while making your image. Please try again.",
    "error.access_denied": "Sorry, this bot is not open to you here. Ask the bot's operator to add you.",
    "error.limit_reached.minute": "You're going a bit fast: try again in {wait}.",
    "error.limit_reached.day": "You've used all {limit} images for today. Your quota resets at {reset} ({wait} from now).",
    "error.queue_full": "You already have {waiting} images waiting. Please wait for them before asking for more.",
    "error.job_not_found": "That image is no longer available for re-rolling.",
    "error.not_permitted": "Only the person who asked for this image (or an admin) can do that.",
    "error.admin_only": "Only admins can use this command.",
    "error.content_filtered": (
        "The image service's safety filter refused this prompt or its result. "
        "Filters sometimes misfire: rephrasing the prompt usually helps."
    ),
    "error.all_accounts_unavailable": (
        "The bot has used up its image allowance for now. It is available again at {when} ({wait} from now)."
    ),
    "error.all_accounts_unavailable.unknown": (
        "The bot cannot reach the image service right now: its accounts need attention from the operator."
    ),
    "error.upstream_rejected": "The image service could not use this request. Try a different prompt or size.",
    "error.upstream_unavailable": "The image service is not answering right now. Please try again in a minute.",
    "error.invalid_request": "{message}",
    "error.invalid_reference": "{message}",
    # progress
    "progress.queued": "You're number {position} in line…",
    "progress.optimising": "Polishing your prompt…",
    "progress.generating": "Painting your image…",
    # result
    "result.prompt": "Prompt",
    "result.size": "Size",
    "result.seed": "Seed",
    "result.model": "Model",
    "result.references": "References",
    "result.as_written": "Prompt used as written (the optimiser was unavailable).",
    # quota
    "quota.unlimited": "You have no limits (admin).",
    "quota.status": "Today you have used {used} of {limit} images; {remaining} left. Resets at {reset} ({wait} from now).",
    "quota.status.no_daily": "Today you have used {used} images; there is no daily limit.",
    # durations
    "duration.hours_minutes": "{hours} h {minutes} min",
    "duration.minutes": "{minutes} min",
    "duration.seconds": "{seconds} s",
}
