"""German messages. Keys and {placeholders} as in ``en``."""

MESSAGES: dict[str, str] = {
    # errors
    "error.generic": "Beim Erstellen deines Bildes ist etwas schiefgelaufen. Bitte versuche es noch einmal.",
    "error.shutting_down": "Der Bot startet gerade neu und konnte dein Bild nicht fertigstellen. Es wurde nicht auf dein Kontingent angerechnet; bitte frag in einer Minute noch einmal.",
    "error.access_denied": (
        "Dieser Bot steht dir hier leider nicht zur Verfügung. Bitte den Betreiber des Bots, dich freizuschalten."
    ),
    "error.limit_reached.minute": "Etwas zu schnell: Versuche es in {wait} noch einmal.",
    "error.limit_reached.day": (
        "Du hast alle {limit} Bilder für heute verbraucht. Dein Kontingent wird um {reset} zurückgesetzt (in {wait})."
    ),
    "error.queue_full": (
        "Du hast bereits {waiting} Bilder in der Warteschlange. Bitte warte, bis sie fertig sind, "
        "bevor du weitere anforderst."
    ),
    "error.job_not_found": "Dieses Bild kann nicht mehr neu erzeugt werden.",
    "error.not_permitted": "Das kann nur die Person, die dieses Bild angefordert hat (oder ein Admin).",
    "error.admin_only": "Nur Admins können diesen Befehl verwenden.",
    "error.content_filtered": (
        "Der Sicherheitsfilter des Bilddienstes hat diesen Prompt oder sein Ergebnis abgelehnt. "
        "Filter irren sich manchmal: Eine Umformulierung hilft meistens."
    ),
    "error.all_accounts_unavailable": (
        "Der Bot hat sein Bildkontingent vorerst aufgebraucht. Er ist um {when} wieder verfügbar (in {wait})."
    ),
    "error.all_accounts_unavailable.unknown": (
        "Der Bot erreicht den Bilddienst gerade nicht: Seine Konten brauchen die Aufmerksamkeit des Betreibers."
    ),
    "error.upstream_rejected": (
        "Der Bilddienst konnte diese Anfrage nicht verarbeiten. Versuche einen anderen Prompt oder eine andere Größe."
    ),
    "error.upstream_unavailable": "Der Bilddienst antwortet gerade nicht. Bitte versuche es in einer Minute noch einmal.",
    "error.invalid_request": "{message}",
    "error.invalid_reference": "{message}",
    # progress
    "progress.queued": "Du bist Nummer {position} in der Warteschlange…",
    "progress.optimising": "Dein Prompt wird verfeinert…",
    "progress.generating": "Dein Bild wird gemalt…",
    # result
    "result.prompt": "Prompt",
    "result.size": "Größe",
    "result.seed": "Seed",
    "result.model": "Modell",
    "result.references": "Referenzen",
    "result.as_written": "Prompt unverändert verwendet (der Optimierer war nicht verfügbar).",
    "result.your_prompt": "Dein Prompt",
    "result.optimised": "Der Bot hat deinen Prompt für das Modell umgeschrieben.",
    "result.used_as_written": "Prompt unverändert verwendet.",
    # quota
    "quota.unlimited": "Für dich gelten keine Limits (Admin).",
    "quota.status": (
        "Heute hast du {used} von {limit} Bildern verwendet; {remaining} übrig. "
        "Zurückgesetzt um {reset} (in {wait})."
    ),
    "quota.status.no_daily": "Heute hast du {used} Bilder verwendet; es gibt kein Tageslimit.",
    # commands and buttons
    "help.text": (
        "Sende /imagine und beschreibe, was du sehen möchtest, z. B.\n"
        "/imagine ein Leuchtturm im Sturm 16:9\n\n"
        "Seitenverhältnis: Beende den Prompt mit 1:1, 16:9, 9:16, 3:2, 3:4, 1:2 (alles von 1:4 bis 4:1), "
        "schreibe --ar 16:9 oder eine genaue Größe wie 1920x1080.\n"
        "Optionen: --seed 42 (ein Bild wiederholen), --no Text (was weggelassen werden soll, sofern das Modell "
        "es unterstützt), --raw (den Prompt genau so verwenden, wie er geschrieben ist).\n"
        "Referenzbilder (bis zu {max_refs}): Hänge Fotos an den Befehl an oder antworte mit /imagine auf ein Foto.\n"
        "Ein JSON-Objekt funktioniert als strukturierter Prompt.\n\n"
        "Deine Limits: {limits}. /quota zeigt, was noch übrig ist."
    ),
    "help.limits": "{per_day} Bilder pro Tag, {per_minute} pro Minute",
    "help.limits.none": "keine",
    "button.reroll": "🔁 Neu würfeln",
    "button.original": "📄 Original",
    "reroll.refused": "Nur die Person, die dieses Bild angefordert hat (oder ein Admin), kann es neu erzeugen.",
    "original.caption": "Originaldatei, unkomprimiert.",
    "accounts.none": "Es ist kein Cloudflare-Konto eingerichtet.",
    "accounts.header": "Konten (heute, UTC):",
    "accounts.row": "{label}: {state}{until} — {images} Bilder, {neurons} Neuronen",
    "accounts.until": " bis {time}",
    "reference.not_image": "Diese Datei ist kein Bild. Sende Fotos oder Bilddateien (JPEG, PNG, WebP).",
    "reference.too_large": "Dieses Bild ist zu groß ({size_mb} MB). Das Limit liegt bei {limit_mb} MB.",
    "reference.too_many": "Es können höchstens {limit} Referenzbilder verwendet werden; du hast {count} gesendet.",
    "reference.none_in_message": "Diese Nachricht enthält keine Bilder, die als Referenz dienen können.",
    "reference.download_failed": "Eines der Bilder konnte nicht heruntergeladen werden. Bitte versuche es noch einmal.",
    "modal.title": "Aus diesem Bild erschaffen",
    "modal.prompt_label": "Prompt",
    "modal.prompt_placeholder": "dieselbe Figur bei Sonnenuntergang am Strand 16:9",
    "prompt.missing": "Sag mir, was ich zeichnen soll: /imagine ein Leuchtturm im Sturm 16:9",
    "original.compressed_copy": (
        "Das unkomprimierte Original wird nicht mehr aufbewahrt; dies ist die im Chat gespeicherte Kopie "
        "(von Telegram komprimiert)."
    ),
    "original.unavailable": "Das Original dieses Bildes ist nicht mehr verfügbar.",
    "command.imagine": "Ein Bild malen: /imagine ein Leuchtturm im Sturm 16:9",
    "command.help": "Anleitung und deine Limits",
    "command.quota": "Heute verwendete und verbleibende Bilder",
    "command.accounts": "Status der Cloudflare-Konten (Admins)",
    "accounts.state.healthy": "funktioniert",
    "accounts.state.spent": "Tageskontingent verbraucht",
    "accounts.state.cooling": "kühlt ab",
    "accounts.state.misconfigured": "braucht Aufmerksamkeit",
    # durations
    "duration.hours_minutes": "{hours} Std. {minutes} Min.",
    "duration.minutes": "{minutes} Min.",
    "duration.seconds": "{seconds} Sek.",
    # the prompt parser's and reference checks' error codes (bot.errors.InvalidRequest.code)
    "invalid.empty_prompt": "Beschreibe das Bild, das du möchtest: Der Prompt ist leer.",
    "invalid.prompt_too_long": "Der Prompt ist {length} Zeichen lang; das Limit liegt bei {limit}.",
    "invalid.bad_ratio": "Das ist kein Seitenverhältnis; schreibe es wie 16:9.",
    "invalid.ratio_out_of_range": (
        "Dieses Seitenverhältnis geht nicht; wähle eines zwischen 1:4 und 4:1, näher an 1:1."
    ),
    "invalid.bad_size": (
        "Diese Bildgröße ist nicht erlaubt; schreibe sie wie 1024x768, jede Seite 256 bis 1920 Pixel."
    ),
    "invalid.bad_seed": "Der Seed muss eine ganze Zahl von 0 bis 4294967295 sein.",
    "invalid.bad_steps": "Die Anzahl der Schritte liegt außerhalb dessen, was dieses Modell erlaubt.",
    "invalid.bad_flag": "Die Option {flag} nimmt keinen Wert.",
    "invalid.unknown_flag": "Unbekannte Option {flag}; die Optionen sind --ar, --size, --seed, --steps, --no und --raw.",
    "invalid.missing_value": "Die Option {flag} braucht einen Wert.",
    "invalid.bad_json": "Der JSON-Prompt ist ungültig; prüfe Klammern, Anführungszeichen und Kommas.",
    "invalid.too_many": "Es können höchstens {limit} Referenzbilder verwendet werden; du hast {count} gesendet.",
    "invalid.unsupported": "Die eingestellten Modelle können keine Referenzbilder verwenden.",
    "invalid.unreadable": "Eines der Referenzbilder ist beschädigt oder unvollständig und kann nicht gelesen werden.",
    "invalid.not_an_image": "Die Referenzdatei ist kein JPEG-, PNG-, WebP-, GIF- oder BMP-Bild.",
    "invalid.too_large": "Das Referenzbild ist zu groß.",
    "invalid.too_many_pixels": "Das Referenzbild hat zu viele Pixel.",
    # chat UX round two: cancel, vary, models, --n, /accounts in groups
    "error.cancelled": "Abgebrochen. Es wurde nicht auf dein Kontingent angerechnet.",
    "error.limit_reached.model": "Das Modell {model} hat heute alle {limit} seiner Bilder erzeugt. Wähle ein anderes Modell (/help listet sie auf) oder versuche es um {reset} wieder (in {wait}).",
    "button.cancel": "❌ Abbrechen",
    "button.vary": "🎨 Variieren",
    "cancel.refused": "Nur die Person, die dieses Bild angefordert hat (oder ein Admin), kann es abbrechen.",
    "cancel.too_late": "Zu spät zum Abbrechen: Diese Anfrage ist schon fertig.",
    "vary.refused": "Nur die Person, die dieses Bild angefordert hat (oder ein Admin), kann es variieren.",
    "help.models": "Modelle (--model NAME):",
    "help.model_line": "{alias}: etwa {neurons} Neuronen pro 1024²-Bild, etwa {per_day} Bilder am Tag pro Konto",
    "help.model_cap": "{alias}: höchstens {cap} Bilder am Tag für den ganzen Bot",
    "help.count": "--n 2 bis {max}: mehrere Bilder auf einmal (jedes zählt für deine Limits).",
    "quota.model_left": "{model}: noch {left} von {cap} Bildern heute für den ganzen Bot.",
    "accounts.private_only": "In Gruppen wird /accounts nicht beantwortet: Schick es mir im privaten Chat.",
    "album.buttons": "Knöpfe für die Bilder oben, nach Nummer: 🔁 neu erzeugen, 🎨 variieren, 📄 Original.",
    "invalid.unknown_model": "Es gibt kein Modell namens '{model}'; wähle eines von: {choices}.",
    "invalid.too_many_images": "Höchstens {limit} Bilder pro Anfrage; du hast {count} verlangt.",
    "error.limit_reached.day_short": "Du hast heute noch {left} von {limit} Bildern, weniger als die {count}, die du verlangt hast. Verlange weniger oder warte bis {reset} (in {wait}).",
    "resume.maybe_delivered": "Dein Bild wurde möglicherweise kurz vor dem Neustart des Bots schon gesendet. Wenn es oben nicht zu sehen ist, frag bitte noch einmal: es wurde einmal auf dein Kontingent angerechnet.",
    "resume.gave_up": "Deine Anfrage konnte nach mehreren Neustarts des Bots nicht fertiggestellt werden. Sie wurde nicht auf dein Kontingent angerechnet; bitte versuch es noch einmal, vielleicht mit einem einfacheren Prompt.",
}
