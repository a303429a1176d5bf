"""Spanish messages. Keys and {placeholders} as in ``en``."""

MESSAGES: dict[str, str] = {
    # errors
    "error.generic": "Algo salió mal al crear tu imagen. Inténtalo de nuevo.",
    "error.shutting_down": "El bot se está reiniciando y no pudo terminar tu imagen. No se ha descontado de tu cupo; vuelve a pedirla en un minuto.",
    "error.access_denied": "Lo siento, este bot no está disponible para ti aquí. Pide al operador del bot que te añada.",
    "error.limit_reached.minute": "Vas un poco rápido: inténtalo de nuevo en {wait}.",
    "error.limit_reached.day": (
        "Has usado tus {limit} imágenes de hoy. Tu cuota se renueva a las {reset} (dentro de {wait})."
    ),
    "error.queue_full": "Ya tienes {waiting} imágenes en espera. Espera a que terminen antes de pedir más.",
    "error.job_not_found": "Esa imagen ya no se puede volver a generar.",
    "error.not_permitted": "Solo quien pidió esta imagen (o un administrador) puede hacer eso.",
    "error.admin_only": "Solo los administradores pueden usar este comando.",
    "error.content_filtered": (
        "El filtro de seguridad del servicio de imágenes rechazó este prompt o su resultado. "
        "Los filtros a veces se equivocan: reformular el prompt suele funcionar."
    ),
    "error.all_accounts_unavailable": (
        "El bot ha agotado su cupo de imágenes por ahora. Volverá a estar disponible a las {when} (dentro de {wait})."
    ),
    "error.all_accounts_unavailable.unknown": (
        "El bot no puede acceder al servicio de imágenes ahora mismo: sus cuentas necesitan la atención del operador."
    ),
    "error.upstream_rejected": "El servicio de imágenes no pudo usar esta petición. Prueba con otro prompt u otro tamaño.",
    "error.upstream_unavailable": "El servicio de imágenes no responde ahora mismo. Inténtalo de nuevo en un minuto.",
    "error.invalid_request": "{message}",
    "error.invalid_reference": "{message}",
    # progress
    "progress.queued": "Eres el número {position} de la cola…",
    "progress.optimising": "Puliendo tu prompt…",
    "progress.generating": "Pintando tu imagen…",
    # result
    "result.prompt": "Prompt",
    "result.size": "Tamaño",
    "result.seed": "Semilla",
    "result.model": "Modelo",
    "result.references": "Referencias",
    "result.as_written": "Prompt usado tal cual (el optimizador no estaba disponible).",
    "result.your_prompt": "Tu prompt",
    "result.optimised": "El bot reescribió tu prompt para el modelo.",
    "result.used_as_written": "Prompt usado tal cual.",
    # quota
    "quota.unlimited": "No tienes límites (administrador).",
    "quota.status": (
        "Hoy has usado {used} de {limit} imágenes; te quedan {remaining}. Se renueva a las {reset} (dentro de {wait})."
    ),
    "quota.status.no_daily": "Hoy has usado {used} imágenes; no hay límite diario.",
    # commands and buttons
    "help.text": (
        "Envía /imagine seguido de lo que quieres ver, por ejemplo:\n"
        "/imagine un faro en una tormenta 16:9\n\n"
        "Proporción: termina el prompt con 1:1, 16:9, 9:16, 3:2, 3:4, 1:2 (cualquiera de 1:4 a 4:1), "
        "escribe --ar 16:9 o un tamaño exacto como 1920x1080.\n"
        "Opciones: --seed 42 (repetir una imagen), --no texto (lo que quieres excluir, si el modelo lo admite), "
        "--raw (usar tu prompt exactamente como lo escribiste).\n"
        "Imágenes de referencia (hasta {max_refs}): adjunta fotos al comando o responde a una foto con /imagine.\n"
        "Un objeto JSON sirve como prompt estructurado.\n\n"
        "Tus límites: {limits}. /quota muestra lo que te queda."
    ),
    "help.limits": "{per_day} imágenes al día, {per_minute} por minuto",
    "help.limits.none": "ninguno",
    "button.reroll": "🔁 Otra versión",
    "button.original": "📄 Original",
    "reroll.refused": "Solo quien pidió esta imagen (o un administrador) puede volver a generarla.",
    "original.caption": "Archivo original, sin comprimir.",
    "accounts.none": "No hay ninguna cuenta de Cloudflare configurada.",
    "accounts.header": "Cuentas (hoy, UTC):",
    "accounts.row": "{label}: {state}{until} — {images} imágenes, {neurons} neuronas",
    "accounts.until": " hasta las {time}",
    "reference.not_image": "Ese archivo no es una imagen. Envía fotos o archivos de imagen (JPEG, PNG, WebP).",
    "reference.too_large": "Esa imagen es demasiado grande ({size_mb} MB). El límite es {limit_mb} MB.",
    "reference.too_many": "Se pueden usar como máximo {limit} imágenes de referencia; enviaste {count}.",
    "reference.none_in_message": "Ese mensaje no tiene imágenes que usar como referencia.",
    "reference.download_failed": "No se pudo descargar una de las imágenes. Inténtalo de nuevo.",
    "modal.title": "Imaginar a partir de esta imagen",
    "modal.prompt_label": "Prompt",
    "modal.prompt_placeholder": "el mismo personaje en una playa al atardecer 16:9",
    "prompt.missing": "Dime qué dibujar: /imagine un faro en una tormenta 16:9",
    "original.compressed_copy": (
        "El original sin comprimir ya no se conserva; esta es la copia guardada en el chat (comprimida por Telegram)."
    ),
    "original.unavailable": "El original de esta imagen ya no está disponible.",
    "command.imagine": "Dibuja una imagen: /imagine un faro en una tormenta 16:9",
    "command.help": "Cómo usar el bot y tus límites",
    "command.quota": "Imágenes usadas y restantes hoy",
    "command.accounts": "Estado de las cuentas de Cloudflare (administradores)",
    "accounts.state.healthy": "operativa",
    "accounts.state.spent": "cupo diario agotado",
    "accounts.state.cooling": "en pausa",
    "accounts.state.misconfigured": "requiere atención",
    # durations
    "duration.hours_minutes": "{hours} h {minutes} min",
    "duration.minutes": "{minutes} min",
    "duration.seconds": "{seconds} s",
    # the prompt parser's and reference checks' error codes (bot.errors.InvalidRequest.code)
    "invalid.empty_prompt": "Describe la imagen que quieres: el prompt está vacío.",
    "invalid.prompt_too_long": "El prompt tiene {length} caracteres; el límite es {limit}.",
    "invalid.bad_ratio": "Eso no es una proporción; escríbela como 16:9.",
    "invalid.ratio_out_of_range": "No se puede usar esa proporción; elige una entre 1:4 y 4:1, más cercana a 1:1.",
    "invalid.bad_size": "Ese tamaño de imagen no está permitido; escríbelo como 1024x768, con cada lado entre 256 y 1920 píxeles.",
    "invalid.bad_seed": "La semilla debe ser un número entero entre 0 y 4294967295.",
    "invalid.bad_steps": "El número de pasos está fuera del rango de este modelo.",
    "invalid.bad_flag": "La opción {flag} no lleva valor.",
    "invalid.unknown_flag": "Opción desconocida {flag}; las opciones son --ar, --size, --seed, --steps, --no y --raw.",
    "invalid.missing_value": "La opción {flag} necesita un valor.",
    "invalid.bad_json": "El prompt JSON no es válido; revisa las llaves, las comillas y las comas.",
    "invalid.too_many": "Se pueden usar como máximo {limit} imágenes de referencia; enviaste {count}.",
    "invalid.unsupported": "Los modelos configurados no pueden usar imágenes de referencia.",
    "invalid.unreadable": "Una de las imágenes de referencia está dañada o incompleta y no se puede leer.",
    "invalid.not_an_image": "El archivo de referencia no es una imagen JPEG, PNG, WebP, GIF ni BMP.",
    "invalid.too_large": "La imagen de referencia es demasiado grande.",
    "invalid.too_many_pixels": "La imagen de referencia tiene demasiados píxeles.",
    # chat UX round two: cancel, vary, models, --n, /accounts in groups
    "error.cancelled": "Cancelado. No se ha descontado de tu cuota.",
    "error.limit_reached.model": "El modelo {model} ya ha hecho sus {limit} imágenes de hoy. Elige otro modelo (/help los muestra) o vuelve a intentarlo a las {reset} (dentro de {wait}).",
    "button.cancel": "❌ Cancelar",
    "button.vary": "🎨 Variar",
    "cancel.refused": "Solo quien pidió esta imagen (o un administrador) puede cancelarla.",
    "cancel.too_late": "Demasiado tarde para cancelar: esta petición ya ha terminado.",
    "vary.refused": "Solo quien pidió esta imagen (o un administrador) puede hacer variaciones.",
    "help.models": "Modelos (--model NOMBRE):",
    "help.model_line": "{alias}: unas {neurons} neuronas por imagen de 1024², unas {per_day} imágenes al día por cuenta",
    "help.model_cap": "{alias}: como mucho {cap} imágenes al día para todo el bot",
    "help.count": "--n 2 a {max}: varias imágenes a la vez (cada una cuenta para tus límites).",
    "quota.model_left": "{model}: quedan {left} de {cap} imágenes hoy para todo el bot.",
    "accounts.private_only": "En los grupos no se responde a /accounts: envíamelo en un chat privado.",
    "album.buttons": "Botones para las imágenes de arriba, por número: 🔁 regenerar, 🎨 variar, 📄 original.",
    "invalid.unknown_model": "No hay ningún modelo llamado '{model}'; elige uno de: {choices}.",
    "invalid.too_many_images": "Como mucho {limit} imágenes por petición; has pedido {count}.",
    "error.limit_reached.day_short": "Te quedan {left} de tus {limit} imágenes de hoy, menos que las {count} que has pedido. Pide menos o espera hasta las {reset} (dentro de {wait}).",
    "resume.maybe_delivered": "Puede que tu imagen ya se enviara justo antes de que el bot se reiniciara. Si no aparece arriba, vuelve a pedirla: se descontó una sola vez de tu cupo.",
    "resume.gave_up": "Tu petición no se pudo terminar tras varios reinicios del bot. No se ha descontado de tu cupo; vuelve a intentarlo, quizá con un prompt más sencillo.",
}
