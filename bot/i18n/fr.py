"""French messages. Keys and {placeholders} as in ``en``."""

MESSAGES: dict[str, str] = {
    # errors
    "error.generic": "Un problème est survenu pendant la création de votre image. Veuillez réessayer.",
    "error.shutting_down": "Le bot redémarre et n'a pas pu terminer ton image. Elle n'est pas décomptée de ton quota ; redemande-la dans une minute.",
    "error.access_denied": "Désolé, ce bot ne vous est pas ouvert ici. Demandez à son opérateur de vous ajouter.",
    "error.limit_reached.minute": "Vous allez un peu vite : réessayez dans {wait}.",
    "error.limit_reached.day": (
        "Vous avez utilisé vos {limit} images du jour. Votre quota se renouvelle à {reset} (dans {wait})."
    ),
    "error.queue_full": (
        "Vous avez déjà {waiting} images en attente. Attendez qu'elles soient prêtes avant d'en demander d'autres."
    ),
    "error.job_not_found": "Cette image ne peut plus être régénérée.",
    "error.not_permitted": "Seule la personne qui a demandé cette image (ou un administrateur) peut faire cela.",
    "error.admin_only": "Seuls les administrateurs peuvent utiliser cette commande.",
    "error.content_filtered": (
        "Le filtre de sécurité du service d'images a refusé ce prompt ou son résultat. "
        "Les filtres se trompent parfois : reformuler le prompt aide généralement."
    ),
    "error.all_accounts_unavailable": (
        "Le bot a épuisé son allocation d'images pour le moment. Il sera de nouveau disponible à {when} (dans {wait})."
    ),
    "error.all_accounts_unavailable.unknown": (
        "Le bot ne peut pas joindre le service d'images pour l'instant : ses comptes nécessitent l'intervention "
        "de l'opérateur."
    ),
    "error.upstream_rejected": (
        "Le service d'images n'a pas pu traiter cette demande. Essayez un autre prompt ou une autre taille."
    ),
    "error.upstream_unavailable": "Le service d'images ne répond pas pour le moment. Réessayez dans une minute.",
    "error.invalid_request": "{message}",
    "error.invalid_reference": "{message}",
    # progress
    "progress.queued": "Vous êtes numéro {position} dans la file…",
    "progress.optimising": "Je peaufine votre prompt…",
    "progress.generating": "Je peins votre image…",
    # result
    "result.prompt": "Prompt",
    "result.size": "Taille",
    "result.seed": "Graine",
    "result.model": "Modèle",
    "result.references": "Références",
    "result.as_written": "Prompt utilisé tel quel (l'optimiseur n'était pas disponible).",
    "result.your_prompt": "Votre prompt",
    "result.optimised": "Le bot a réécrit votre prompt pour le modèle.",
    "result.used_as_written": "Prompt utilisé tel quel.",
    # quota
    "quota.unlimited": "Vous n'avez aucune limite (administrateur).",
    "quota.status": (
        "Aujourd'hui, vous avez utilisé {used} images sur {limit} ; il en reste {remaining}. "
        "Renouvellement à {reset} (dans {wait})."
    ),
    "quota.status.no_daily": "Aujourd'hui, vous avez utilisé {used} images ; il n'y a pas de limite quotidienne.",
    # commands and buttons
    "help.text": (
        "Envoyez /imagine suivi de ce que vous voulez voir, par exemple :\n"
        "/imagine un phare dans la tempête 16:9\n\n"
        "Format : terminez le prompt par 1:1, 16:9, 9:16, 3:2, 3:4, 1:2 (tout format de 1:4 à 4:1), "
        "ou écrivez --ar 16:9, ou une taille exacte comme 1920x1080.\n"
        "Options : --seed 42 (refaire une image), --no texte (ce qu'il faut exclure, si le modèle le permet), "
        "--raw (utiliser votre prompt exactement tel qu'écrit).\n"
        "Images de référence (jusqu'à {max_refs}) : joignez des photos à la commande, ou répondez à une photo "
        "avec /imagine.\n"
        "Un objet JSON peut servir de prompt structuré.\n\n"
        "Vos limites : {limits}. /quota indique ce qu'il vous reste."
    ),
    "help.limits": "{per_day} images par jour, {per_minute} par minute",
    "help.limits.none": "aucune",
    "button.reroll": "🔁 Relancer",
    "button.original": "📄 Original",
    "reroll.refused": "Seule la personne qui a demandé cette image (ou un administrateur) peut la relancer.",
    "original.caption": "Fichier original, non compressé.",
    "accounts.none": "Aucun compte Cloudflare n'est configuré.",
    "accounts.header": "Comptes (aujourd'hui, UTC) :",
    "accounts.row": "{label} : {state}{until} — {images} images, {neurons} neurones",
    "accounts.until": " jusqu'à {time}",
    "reference.not_image": (
        "Ce fichier n'est pas une image. Envoyez des photos ou des fichiers image (JPEG, PNG, WebP)."
    ),
    "reference.too_large": "Cette image est trop volumineuse ({size_mb} Mo). La limite est de {limit_mb} Mo.",
    "reference.too_many": "Au plus {limit} images de référence peuvent être utilisées ; vous en avez envoyé {count}.",
    "reference.none_in_message": "Ce message ne contient aucune image à utiliser comme référence.",
    "reference.download_failed": "Une des images n'a pas pu être téléchargée. Veuillez réessayer.",
    "modal.title": "Imaginer à partir de cette image",
    "modal.prompt_label": "Prompt",
    "modal.prompt_placeholder": "le même personnage sur une plage au coucher du soleil 16:9",
    "prompt.missing": "Dites-moi quoi dessiner : /imagine un phare dans la tempête 16:9",
    "original.compressed_copy": (
        "L'original non compressé n'est plus conservé ; voici la copie stockée dans la conversation "
        "(compressée par Telegram)."
    ),
    "original.unavailable": "L'original de cette image n'est plus disponible.",
    "command.imagine": "Dessiner une image : /imagine un phare dans la tempête 16:9",
    "command.help": "Mode d'emploi et vos limites",
    "command.quota": "Images utilisées et restantes aujourd'hui",
    "command.accounts": "État des comptes Cloudflare (administrateurs)",
    "accounts.state.healthy": "opérationnel",
    "accounts.state.spent": "allocation du jour épuisée",
    "accounts.state.cooling": "en pause",
    "accounts.state.misconfigured": "à vérifier",
    # durations
    "duration.hours_minutes": "{hours} h {minutes} min",
    "duration.minutes": "{minutes} min",
    "duration.seconds": "{seconds} s",
    # the prompt parser's and reference checks' error codes (bot.errors.InvalidRequest.code)
    "invalid.empty_prompt": "Décrivez l'image que vous voulez : le prompt est vide.",
    "invalid.prompt_too_long": "Le prompt fait {length} caractères ; la limite est de {limit}.",
    "invalid.bad_ratio": "Ce n'est pas un format d'image ; écrivez-le comme 16:9.",
    "invalid.ratio_out_of_range": "Ce format ne peut pas être utilisé ; choisissez-en un entre 1:4 et 4:1, plus proche de 1:1.",
    "invalid.bad_size": (
        "Cette taille d'image n'est pas autorisée ; écrivez-la comme 1024x768, chaque côté entre 256 et 1920 pixels."
    ),
    "invalid.bad_seed": "La graine doit être un nombre entier entre 0 et 4294967295.",
    "invalid.bad_steps": "Le nombre d'étapes est hors de la plage de ce modèle.",
    "invalid.bad_flag": "L'option {flag} ne prend pas de valeur.",
    "invalid.unknown_flag": "Option inconnue {flag} ; les options sont --ar, --size, --seed, --steps, --no et --raw.",
    "invalid.missing_value": "L'option {flag} a besoin d'une valeur.",
    "invalid.bad_json": "Le prompt JSON n'est pas valide ; vérifiez les accolades, les guillemets et les virgules.",
    "invalid.too_many": "Au plus {limit} images de référence peuvent être utilisées ; vous en avez envoyé {count}.",
    "invalid.unsupported": "Les modèles configurés ne peuvent pas utiliser d'images de référence.",
    "invalid.unreadable": "Une des images de référence est endommagée ou incomplète et ne peut pas être lue.",
    "invalid.not_an_image": "Le fichier de référence n'est pas une image JPEG, PNG, WebP, GIF ou BMP.",
    "invalid.too_large": "L'image de référence est trop volumineuse.",
    "invalid.too_many_pixels": "L'image de référence a trop de pixels.",
    # chat UX round two: cancel, vary, models, --n, /accounts in groups
    "error.cancelled": "Annulé. Cela n'a pas été décompté de ton quota.",
    "error.limit_reached.model": "Le modèle {model} a produit toutes ses {limit} images pour aujourd'hui. Choisis un autre modèle (/help les liste) ou réessaie à {reset} (dans {wait}).",
    "button.cancel": "❌ Annuler",
    "button.vary": "🎨 Varier",
    "cancel.refused": "Seule la personne qui a demandé cette image (ou un administrateur) peut l'annuler.",
    "cancel.too_late": "Trop tard pour annuler : cette demande est déjà terminée.",
    "vary.refused": "Seule la personne qui a demandé cette image (ou un administrateur) peut la varier.",
    "help.models": "Modèles (--model NOM) :",
    "help.model_line": "{alias} : environ {neurons} neurones par image 1024², environ {per_day} images par jour et par compte",
    "help.model_cap": "{alias} : au plus {cap} images par jour pour tout le bot",
    "help.count": "--n 2 à {max} : plusieurs images à la fois (chacune compte dans tes limites).",
    "quota.model_left": "{model} : encore {left} images sur {cap} aujourd'hui pour tout le bot.",
    "accounts.private_only": "Dans les groupes, /accounts ne reçoit pas de réponse : envoie-le-moi en privé.",
    "album.buttons": "Boutons pour les images ci-dessus, par numéro : 🔁 relancer, 🎨 varier, 📄 original.",
    "invalid.unknown_model": "Il n'existe pas de modèle appelé '{model}' ; choisis parmi : {choices}.",
    "invalid.too_many_images": "Au plus {limit} images par demande ; tu en as demandé {count}.",
    "error.limit_reached.day_short": "Il te reste {left} images sur {limit} aujourd'hui, moins que les {count} demandées. Demandes-en moins, ou attends {reset} (dans {wait}).",
    "resume.maybe_delivered": "Ton image a peut-être déjà été envoyée juste avant le redémarrage du bot. Si elle n'apparaît pas plus haut, redemande-la : elle n'a été décomptée qu'une fois de ton quota.",
    "resume.gave_up": "Ta demande n'a pas pu être terminée après plusieurs redémarrages du bot. Elle n'est pas décomptée de ton quota ; réessaie, peut-être avec un prompt plus simple.",
}
