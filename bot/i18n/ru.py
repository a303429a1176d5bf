"""Russian messages. Keys and {placeholders} as in ``en``; numbers stand after a colon to avoid plural forms."""

MESSAGES: dict[str, str] = {
    # errors
    "error.generic": "Что-то пошло не так при создании изображения. Пожалуйста, попробуйте ещё раз.",
    "error.shutting_down": "Бот перезапускается и не успел закончить ваше изображение. Это не засчитано в ваш лимит; попробуйте снова через минуту.",
    "error.access_denied": "Извините, здесь этот бот вам недоступен. Попросите оператора бота добавить вас.",
    "error.limit_reached.minute": "Слишком быстро: попробуйте снова через {wait}.",
    "error.limit_reached.day": (
        "Дневной лимит изображений исчерпан (лимит: {limit}). Он обновится в {reset} (через {wait})."
    ),
    "error.queue_full": "Ваших изображений уже в очереди: {waiting}. Дождитесь их, прежде чем просить новые.",
    "error.job_not_found": "Это изображение больше нельзя сгенерировать заново.",
    "error.not_permitted": "Это может сделать только тот, кто заказал изображение (или администратор).",
    "error.admin_only": "Эта команда доступна только администраторам.",
    "error.content_filtered": (
        "Фильтр безопасности сервиса изображений отклонил этот запрос или его результат. "
        "Фильтры иногда ошибаются: обычно помогает переформулировать запрос."
    ),
    "error.all_accounts_unavailable": (
        "Бот пока исчерпал доступный лимит изображений. Он снова будет доступен в {when} (через {wait})."
    ),
    "error.all_accounts_unavailable.unknown": (
        "Бот сейчас не может связаться с сервисом изображений: его учётные записи требуют внимания оператора."
    ),
    "error.upstream_rejected": "Сервис изображений не смог обработать этот запрос. Попробуйте другой запрос или размер.",
    "error.upstream_unavailable": "Сервис изображений сейчас не отвечает. Попробуйте снова через минуту.",
    "error.invalid_request": "{message}",
    "error.invalid_reference": "{message}",
    # progress
    "progress.queued": "Ваше место в очереди: {position}…",
    "progress.optimising": "Улучшаю ваш запрос…",
    "progress.generating": "Рисую ваше изображение…",
    # result
    "result.prompt": "Запрос",
    "result.size": "Размер",
    "result.seed": "Сид",
    "result.model": "Модель",
    "result.references": "Референсы",
    "result.as_written": "Запрос использован как есть (оптимизатор недоступен).",
    "result.your_prompt": "Ваш запрос",
    "result.optimised": "Бот переписал ваш запрос для модели.",
    "result.used_as_written": "Запрос использован как есть.",
    # quota
    "quota.unlimited": "У вас нет ограничений (администратор).",
    "quota.status": (
        "Сегодня использовано изображений: {used} из {limit}, осталось: {remaining}. "
        "Лимит обновится в {reset} (через {wait})."
    ),
    "quota.status.no_daily": "Сегодня использовано изображений: {used}; дневного лимита нет.",
    # commands and buttons
    "help.text": (
        "Отправьте /imagine и опишите, что хотите увидеть, например:\n"
        "/imagine маяк во время шторма 16:9\n\n"
        "Соотношение сторон: закончите запрос на 1:1, 16:9, 9:16, 3:2, 3:4, 1:2 (любое от 1:4 до 4:1), "
        "или напишите --ar 16:9, или точный размер, например 1920x1080.\n"
        "Флаги: --seed 42 (повторить изображение), --no люди (что исключить, если модель это поддерживает), "
        "--raw (использовать запрос в точности как написан).\n"
        "Референсы (до {max_refs}): приложите фото к команде или ответьте на фото командой /imagine.\n"
        "JSON-объект можно использовать как структурированный запрос.\n\n"
        "Ваши лимиты: {limits}. /quota покажет, сколько осталось."
    ),
    "help.limits": "в день: {per_day}, в минуту: {per_minute}",
    "help.limits.none": "нет",
    "button.reroll": "🔁 Ещё вариант",
    "button.original": "📄 Оригинал",
    "reroll.refused": "Сгенерировать заново может только тот, кто заказал это изображение (или администратор).",
    "original.caption": "Оригинальный файл без сжатия.",
    "accounts.none": "Ни одна учётная запись Cloudflare не настроена.",
    "accounts.header": "Учётные записи (сегодня, UTC):",
    "accounts.row": "{label}: {state}{until} — изображений: {images}, нейронов: {neurons}",
    "accounts.until": " до {time}",
    "reference.not_image": "Этот файл не изображение. Отправьте фото или файлы изображений (JPEG, PNG, WebP).",
    "reference.too_large": "Изображение слишком большое ({size_mb} МБ). Предел — {limit_mb} МБ.",
    "reference.too_many": "Можно использовать не больше {limit} референсов; вы отправили: {count}.",
    "reference.none_in_message": "В этом сообщении нет изображений, которые можно использовать как референсы.",
    "reference.download_failed": "Не удалось скачать одно из изображений. Попробуйте ещё раз.",
    "modal.title": "Создать по этому изображению",
    "modal.prompt_label": "Запрос",
    "modal.prompt_placeholder": "тот же персонаж на пляже на закате 16:9",
    "prompt.missing": "Скажите, что нарисовать: /imagine маяк во время шторма 16:9",
    "original.compressed_copy": "Несжатый оригинал больше не хранится; это копия из чата (сжатая Telegram).",
    "original.unavailable": "Оригинал этого изображения больше недоступен.",
    "command.imagine": "Нарисовать: /imagine маяк во время шторма 16:9",
    "command.help": "Как пользоваться ботом и ваши лимиты",
    "command.quota": "Сколько изображений использовано и осталось сегодня",
    "command.accounts": "Состояние учётных записей Cloudflare (для администраторов)",
    "accounts.state.healthy": "работает",
    "accounts.state.spent": "дневной лимит исчерпан",
    "accounts.state.cooling": "пауза",
    "accounts.state.misconfigured": "требует внимания",
    # durations
    "duration.hours_minutes": "{hours} ч {minutes} мин",
    "duration.minutes": "{minutes} мин",
    "duration.seconds": "{seconds} с",
    # the prompt parser's and reference checks' error codes (bot.errors.InvalidRequest.code)
    "invalid.empty_prompt": "Опишите изображение, которое хотите получить: запрос пуст.",
    "invalid.prompt_too_long": "Длина запроса — {length} символов; предел — {limit}.",
    "invalid.bad_ratio": "Это не соотношение сторон; напишите его в виде 16:9.",
    "invalid.ratio_out_of_range": "Это соотношение сторон недоступно; выберите от 1:4 до 4:1, ближе к 1:1.",
    "invalid.bad_size": "Такой размер изображения недопустим; напишите его в виде 1024x768, каждая сторона от 256 до 1920 пикселей.",
    "invalid.bad_seed": "Сид должен быть целым числом от 0 до 4294967295.",
    "invalid.bad_steps": "Число шагов вне допустимого для этой модели диапазона.",
    "invalid.bad_flag": "Флаг {flag} не принимает значения.",
    "invalid.unknown_flag": "Неизвестный флаг {flag}; доступны --ar, --size, --seed, --steps, --no и --raw.",
    "invalid.missing_value": "Флагу {flag} нужно значение.",
    "invalid.bad_json": "JSON-запрос некорректен; проверьте скобки, кавычки и запятые.",
    "invalid.too_many": "Можно использовать не больше {limit} референсов; вы отправили: {count}.",
    "invalid.unsupported": "Настроенные модели не умеют работать с референсами.",
    "invalid.unreadable": "Один из референсов повреждён или неполон и не читается.",
    "invalid.not_an_image": "Файл референса — не изображение JPEG, PNG, WebP, GIF или BMP.",
    "invalid.too_large": "Референс слишком большой.",
    "invalid.too_many_pixels": "В референсе слишком много пикселей.",
    # chat UX round two: cancel, vary, models, --n, /accounts in groups
    "error.cancelled": "Отменено. Это не засчитано в вашу квоту.",
    "error.limit_reached.model": "Модель {model} уже сделала все {limit} изображений на сегодня. Выберите другую модель (список в /help) или попробуйте снова в {reset} (через {wait}).",
    "button.cancel": "❌ Отменить",
    "button.vary": "🎨 Вариация",
    "cancel.refused": "Отменить может только тот, кто заказал это изображение (или администратор).",
    "cancel.too_late": "Отменять уже поздно: запрос завершён.",
    "vary.refused": "Сделать вариацию может только тот, кто заказал это изображение (или администратор).",
    "help.models": "Модели (--model ИМЯ):",
    "help.model_line": "{alias}: около {neurons} нейронов за изображение 1024², около {per_day} изображений в день на аккаунт",
    "help.model_cap": "{alias}: не больше {cap} изображений в день на весь бот",
    "help.count": "--n от 2 до {max}: несколько изображений сразу (каждое учитывается в ваших лимитах).",
    "quota.model_left": "{model}: сегодня осталось {left} из {cap} изображений на весь бот.",
    "accounts.private_only": "В группах /accounts не отвечает: напишите мне в личном чате.",
    "album.buttons": "Кнопки для изображений выше, по номерам: 🔁 заново, 🎨 вариация, 📄 оригинал.",
    "invalid.unknown_model": "Модели '{model}' нет; выберите одну из: {choices}.",
    "invalid.too_many_images": "Не больше {limit} изображений за запрос; вы попросили {count}.",
    "error.limit_reached.day_short": "Сегодня у вас осталось {left} из {limit} изображений — меньше, чем запрошенные {count}. Попросите меньше или подождите до {reset} (через {wait}).",
    "resume.maybe_delivered": "Возможно, ваше изображение уже было отправлено прямо перед перезапуском бота. Если его нет выше, попросите снова: в лимит оно засчитано один раз.",
    "resume.gave_up": "Ваш запрос не удалось выполнить после нескольких перезапусков бота. Это не засчитано в ваш лимит; попробуйте снова, возможно, с более простым запросом.",
}
