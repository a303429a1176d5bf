"""Traditional Chinese messages (zh-Hant). Keys and {placeholders} as in ``en``."""

MESSAGES: dict[str, str] = {
    # errors
    "error.generic": "產生圖片時出了點問題，請再試一次。",
    "error.shutting_down": "機器人正在重新啟動，未能完成你的圖片。這次不會計入你的額度，請稍後再試一次。",
    "error.access_denied": "抱歉，這個機器人在這裡不對你開放。請聯絡機器人的管理者把你加入。",
    "error.limit_reached.minute": "你的速度有點快：請在 {wait} 後再試。",
    "error.limit_reached.day": "你今天的 {limit} 張圖片額度已用完。額度將於 {reset}（{wait} 後）重設。",
    "error.queue_full": "你已有 {waiting} 張圖片在排隊。請等它們完成後再提出新的請求。",
    "error.job_not_found": "這張圖片已無法重新產生。",
    "error.not_permitted": "只有要求這張圖片的人（或管理員）才能這麼做。",
    "error.admin_only": "只有管理員可以使用這個指令。",
    "error.content_filtered": (
        "圖像服務的安全過濾器拒絕了這個提示詞或其產生結果。過濾器有時會誤判：換個說法通常就能解決。"
    ),
    "error.all_accounts_unavailable": "機器人目前的圖片額度已用完，將於 {when}（{wait} 後）恢復。",
    "error.all_accounts_unavailable.unknown": "機器人現在無法連線到圖像服務：它的帳號需要管理者處理。",
    "error.upstream_rejected": "圖像服務無法處理這個請求。請換個提示詞或尺寸試試。",
    "error.upstream_unavailable": "圖像服務暫時沒有回應。請一分鐘後再試。",
    "error.invalid_request": "{message}",
    "error.invalid_reference": "{message}",
    # progress
    "progress.queued": "你排在第 {position} 位…",
    "progress.optimising": "正在潤飾你的提示詞…",
    "progress.generating": "正在繪製你的圖片…",
    # result
    "result.prompt": "提示詞",
    "result.size": "尺寸",
    "result.seed": "種子",
    "result.model": "模型",
    "result.references": "參考圖",
    "result.as_written": "已照原文使用提示詞（最佳化工具無法使用）。",
    "result.your_prompt": "你的提示詞",
    "result.optimised": "機器人為模型改寫了你的提示詞。",
    "result.used_as_written": "已照原文使用提示詞。",
    # quota
    "quota.unlimited": "你沒有任何限制（管理員）。",
    "quota.status": "你今天已使用 {used}/{limit} 張圖片，還剩 {remaining} 張。額度於 {reset}（{wait} 後）重設。",
    "quota.status.no_daily": "你今天已使用 {used} 張圖片；沒有每日上限。",
    # commands and buttons
    "help.text": (
        "傳送 /imagine 加上你想看到的內容，例如：\n"
        "/imagine 暴風雨中的燈塔 16:9\n\n"
        "長寬比：在提示詞結尾寫 1:1、16:9、9:16、3:2、3:4、1:2（1:4 到 4:1 之間皆可），或寫 --ar 16:9，"
        "或寫精確尺寸，例如 1920x1080。\n"
        "參數：--seed 42（重現同一張圖）、--no 人群（不想出現的內容，需模型支援）、--raw（完全照原文使用提示詞）。\n"
        "參考圖（最多 {max_refs} 張）：把照片附在指令上，或用 /imagine 回覆一張照片。\n"
        "JSON 物件可以當作結構化提示詞。\n\n"
        "你的額度：{limits}。/quota 可查看剩餘數量。"
    ),
    "help.limits": "每天 {per_day} 張，每分鐘 {per_minute} 張",
    "help.limits.none": "無限制",
    "button.reroll": "🔁 重新產生",
    "button.original": "📄 原圖",
    "reroll.refused": "只有要求這張圖片的人（或管理員）才能重新產生。",
    "original.caption": "原始檔案，未壓縮。",
    "accounts.none": "尚未設定任何 Cloudflare 帳號。",
    "accounts.header": "帳號（今日，UTC）：",
    "accounts.row": "{label}：{state}{until} — {images} 張圖片，{neurons} 神經元",
    "accounts.until": "，直到 {time}",
    "reference.not_image": "這個檔案不是圖片。請傳送照片或圖片檔（JPEG、PNG、WebP）。",
    "reference.too_large": "這張圖片太大了（{size_mb} MB）。上限為 {limit_mb} MB。",
    "reference.too_many": "最多只能使用 {limit} 張參考圖；你傳送了 {count} 張。",
    "reference.none_in_message": "那則訊息裡沒有可以當作參考的圖片。",
    "reference.download_failed": "有一張圖片無法下載。請再試一次。",
    "modal.title": "用這張圖片來創作",
    "modal.prompt_label": "提示詞",
    "modal.prompt_placeholder": "同一個角色在夕陽下的海灘上 16:9",
    "prompt.missing": "告訴我要畫什麼：/imagine 暴風雨中的燈塔 16:9",
    "original.compressed_copy": "未壓縮的原圖已不再保留；這是聊天中儲存的副本（已被 Telegram 壓縮）。",
    "original.unavailable": "這張圖片的原圖已無法取得。",
    "command.imagine": "畫一張圖：/imagine 暴風雨中的燈塔 16:9",
    "command.help": "使用說明與你的額度",
    "command.quota": "今天已用與剩餘的圖片數",
    "command.accounts": "Cloudflare 帳號狀態（管理員）",
    "accounts.state.healthy": "正常",
    "accounts.state.spent": "每日額度已用完",
    "accounts.state.cooling": "冷卻中",
    "accounts.state.misconfigured": "需要處理",
    # durations
    "duration.hours_minutes": "{hours} 小時 {minutes} 分鐘",
    "duration.minutes": "{minutes} 分鐘",
    "duration.seconds": "{seconds} 秒",
    # the prompt parser's and reference checks' error codes (bot.errors.InvalidRequest.code)
    "invalid.empty_prompt": "請描述你想要的圖片：提示詞是空的。",
    "invalid.prompt_too_long": "提示詞有 {length} 個字元；上限是 {limit} 個。",
    "invalid.bad_ratio": "這不是有效的長寬比；請寫成 16:9 這樣的格式。",
    "invalid.ratio_out_of_range": "無法使用這個長寬比；請選擇 1:4 到 4:1 之間、更接近 1:1 的比例。",
    "invalid.bad_size": "這個圖片尺寸不可用；請寫成 1024x768 這樣的格式，每邊 256 到 1920 像素。",
    "invalid.bad_seed": "種子必須是 0 到 4294967295 之間的整數。",
    "invalid.bad_steps": "步數超出了這個模型允許的範圍。",
    "invalid.bad_flag": "參數 {flag} 不需要值。",
    "invalid.unknown_flag": "未知的參數 {flag}；可用的參數有 --ar、--size、--seed、--steps、--no 和 --raw。",
    "invalid.missing_value": "參數 {flag} 需要一個值。",
    "invalid.bad_json": "JSON 提示詞無效；請檢查括號、引號和逗號。",
    "invalid.too_many": "最多只能使用 {limit} 張參考圖；你傳送了 {count} 張。",
    "invalid.unsupported": "目前設定的模型無法使用參考圖。",
    "invalid.unreadable": "有一張參考圖已損壞或不完整，無法讀取。",
    "invalid.not_an_image": "參考檔案不是 JPEG、PNG、WebP、GIF 或 BMP 圖片。",
    "invalid.too_large": "參考圖太大了。",
    "invalid.too_many_pixels": "參考圖的像素太多了。",
}
