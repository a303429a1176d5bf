"""English messages: the reference catalogue. Every other language falls back to these keys."""

MESSAGES: dict[str, str] = {
    # errors
    "error.generic": "Something went wrong while making your image. Please try again.",
    "error.shutting_down": "The bot is restarting and could not finish your image. It did not count against your quota; please ask again in a minute.",
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
    "result.your_prompt": "Your prompt",
    "result.optimised": "The bot rewrote your prompt for the model.",
    "result.used_as_written": "Prompt used as written.",
    # quota
    "quota.unlimited": "You have no limits (admin).",
    "quota.status": "Today you have used {used} of {limit} images; {remaining} left. Resets at {reset} ({wait} from now).",
    "quota.status.no_daily": "Today you have used {used} images; there is no daily limit.",
    # commands and buttons
    "help.text": (
        "Send /imagine followed by what you want to see, e.g.\n"
        "/imagine a lighthouse in a storm 16:9\n\n"
        "Aspect ratio: end the prompt with 1:1, 16:9, 9:16, 3:2, 3:4, 1:2 (any from 1:4 to 4:1), or write --ar 16:9, "
        "or an exact size like 1920x1080.\n"
        "Flags: --seed 42 (repeat an image), --no text (what to leave out, where the model supports it), "
        "--raw (use your prompt exactly as written).\n"
        "Reference images (up to {max_refs}): attach photos to the command, or reply to a photo with /imagine.\n"
        "A JSON object works as a structured prompt.\n\n"
        "Your limits: {limits}. /quota shows what is left."
    ),
    "help.limits": "{per_day} images a day, {per_minute} a minute",
    "help.limits.none": "none",
    "button.reroll": "🔁 Re-roll",
    "button.original": "📄 Original",
    "reroll.refused": "Only the person who asked for this image (or an admin) can re-roll it.",
    "original.caption": "Original file, uncompressed.",
    "accounts.none": "No Cloudflare account is configured.",
    "accounts.header": "Accounts (today, UTC):",
    "accounts.row": "{label}: {state}{until} — {images} images, {neurons} neurons",
    "accounts.until": " until {time}",
    "reference.not_image": "That file is not an image. Send photos or image files (JPEG, PNG, WebP).",
    "reference.too_large": "That image is too large ({size_mb} MB). The limit is {limit_mb} MB.",
    "reference.too_many": "At most {limit} reference images can be used; you sent {count}.",
    "reference.none_in_message": "That message has no images to use as references.",
    "reference.download_failed": "One of the images could not be downloaded. Please try again.",
    "modal.title": "Imagine from this image",
    "modal.prompt_label": "Prompt",
    "modal.prompt_placeholder": "the same character on a beach at sunset 16:9",
    "prompt.missing": "Tell me what to draw: /imagine a lighthouse in a storm 16:9",
    # Telegram: the 📄 button after a restart, command menu, account states
    "original.compressed_copy": (
        "The uncompressed original is no longer kept; this is the copy stored in the chat (compressed by Telegram)."
    ),
    "original.unavailable": "The original of this image is no longer available.",
    "command.imagine": "Draw a picture: /imagine a lighthouse in a storm 16:9",
    "command.help": "How to use the bot, and your limits",
    "command.quota": "Images used and left today",
    "command.accounts": "Cloudflare account states (admins)",
    "accounts.state.healthy": "working",
    "accounts.state.spent": "daily allowance used up",
    "accounts.state.cooling": "cooling down",
    "accounts.state.misconfigured": "needs attention",
    # durations
    "duration.hours_minutes": "{hours} h {minutes} min",
    "duration.minutes": "{minutes} min",
    "duration.seconds": "{seconds} s",
    # chat UX round two: cancel, vary, models, --n, /accounts in groups
    "error.cancelled": "Cancelled. It did not count against your quota.",
    "error.limit_reached.model": "The {model} model has made all {limit} of its images for today. Pick another model (/help lists them) or try again at {reset} ({wait} from now).",
    "button.cancel": "❌ Cancel",
    "button.vary": "🎨 Vary",
    "cancel.refused": "Only the person who asked for this image (or an admin) can cancel it.",
    "cancel.too_late": "Too late to cancel: this request has already finished.",
    "vary.refused": "Only the person who asked for this image (or an admin) can vary it.",
    "help.models": "Models (--model NAME):",
    "help.model_line": "{alias}: about {neurons} neurons per 1024² image, about {per_day} images a day per account",
    "help.model_cap": "{alias}: at most {cap} images a day for the whole bot",
    "help.count": "--n 2 to {max}: several images at once (each one counts against your limits).",
    "quota.model_left": "{model}: {left} of {cap} images left today for the whole bot.",
    "accounts.private_only": "In groups /accounts is not answered: send it to me in a private chat.",
    "album.buttons": "Buttons for the images above, by number: 🔁 re-roll, 🎨 vary, 📄 original.",
    "error.limit_reached.day_short": "You have {left} of your {limit} images left today, fewer than the {count} you asked for. Ask for fewer, or wait until {reset} ({wait} from now).",
    "resume.maybe_delivered": "Your image may already have been sent just before the bot restarted. If it is not above, please ask again: it was counted against your quota once.",
    "resume.gave_up": "Your request could not be finished after several restarts of the bot. It did not count against your quota; please try again, perhaps with a simpler prompt.",
}
