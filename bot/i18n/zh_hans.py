"""Simplified Chinese messages (zh-Hans). Keys and {placeholders} as in ``en``."""

MESSAGES: dict[str, str] = {
    # errors
    "error.generic": "生成图片时出了点问题，请重试。",
    "error.shutting_down": "机器人正在重启，未能完成你的图片。这次不计入你的额度，请稍后再试一次。",
    "error.access_denied": "抱歉，这个机器人在这里不对你开放。请联系机器人的管理者把你加入。",
    "error.limit_reached.minute": "你的速度有点快：请在 {wait} 后再试。",
    "error.limit_reached.day": "你今天的 {limit} 张图片额度已用完。额度将于 {reset}（{wait} 后）重置。",
    "error.queue_full": "你已有 {waiting} 张图片在排队。请等它们完成后再提出新的请求。",
    "error.job_not_found": "这张图片已无法重新生成。",
    "error.not_permitted": "只有请求这张图片的人（或管理员）才能这样做。",
    "error.admin_only": "只有管理员可以使用这个命令。",
    "error.content_filtered": (
        "图像服务的安全过滤器拒绝了这个提示词或其生成结果。过滤器有时会误判：换一种说法通常就能解决。"
    ),
    "error.all_accounts_unavailable": "机器人目前的图片额度已用完，将于 {when}（{wait} 后）恢复。",
    "error.all_accounts_unavailable.unknown": "机器人现在无法连接图像服务：它的账户需要管理者处理。",
    "error.upstream_rejected": "图像服务无法处理这个请求。请换一个提示词或尺寸试试。",
    "error.upstream_unavailable": "图像服务暂时没有响应。请一分钟后再试。",
    "error.invalid_request": "{message}",
    "error.invalid_reference": "{message}",
    # progress
    "progress.queued": "你排在第 {position} 位…",
    "progress.optimising": "正在润色你的提示词…",
    "progress.generating": "正在绘制你的图片…",
    # result
    "result.prompt": "提示词",
    "result.size": "尺寸",
    "result.seed": "种子",
    "result.model": "模型",
    "result.references": "参考图",
    "result.as_written": "已按原文使用提示词（优化器不可用）。",
    "result.your_prompt": "你的提示词",
    "result.optimised": "机器人为模型改写了你的提示词。",
    "result.used_as_written": "已按原文使用提示词。",
    # quota
    "quota.unlimited": "你没有任何限制（管理员）。",
    "quota.status": "你今天已使用 {used}/{limit} 张图片，还剩 {remaining} 张。额度于 {reset}（{wait} 后）重置。",
    "quota.status.no_daily": "你今天已使用 {used} 张图片；没有每日上限。",
    # commands and buttons
    "help.text": (
        "发送 /imagine 加上你想看到的内容，例如：\n"
        "/imagine 暴风雨中的灯塔 16:9\n\n"
        "宽高比：在提示词末尾写 1:1、16:9、9:16、3:2、3:4、1:2（1:4 到 4:1 之间均可），或写 --ar 16:9，"
        "或写精确尺寸，如 1920x1080。\n"
        "参数：--seed 42（重现同一张图）、--no 人群（不想出现的内容，需模型支持）、--raw（完全按原文使用提示词）。\n"
        "参考图（最多 {max_refs} 张）：把照片附在命令上，或用 /imagine 回复一张照片。\n"
        "JSON 对象可以用作结构化提示词。\n\n"
        "你的额度：{limits}。/quota 可查看剩余数量。"
    ),
    "help.limits": "每天 {per_day} 张，每分钟 {per_minute} 张",
    "help.limits.none": "无限制",
    "button.reroll": "🔁 重新生成",
    "button.original": "📄 原图",
    "reroll.refused": "只有请求这张图片的人（或管理员）才能重新生成。",
    "original.caption": "原始文件，未压缩。",
    "accounts.none": "尚未配置任何 Cloudflare 账户。",
    "accounts.header": "账户（今日，UTC）：",
    "accounts.row": "{label}：{state}{until} — {images} 张图片，{neurons} 神经元",
    "accounts.until": "，直到 {time}",
    "reference.not_image": "这个文件不是图片。请发送照片或图片文件（JPEG、PNG、WebP）。",
    "reference.too_large": "这张图片太大了（{size_mb} MB）。上限为 {limit_mb} MB。",
    "reference.too_many": "最多只能使用 {limit} 张参考图；你发送了 {count} 张。",
    "reference.none_in_message": "那条消息里没有可以用作参考的图片。",
    "reference.download_failed": "有一张图片无法下载。请重试。",
    "modal.title": "用这张图片来创作",
    "modal.prompt_label": "提示词",
    "modal.prompt_placeholder": "同一个角色在日落时的海滩上 16:9",
    "prompt.missing": "告诉我要画什么：/imagine 暴风雨中的灯塔 16:9",
    "original.compressed_copy": "未压缩的原图已不再保留；这是聊天中保存的副本（已被 Telegram 压缩）。",
    "original.unavailable": "这张图片的原图已不可用。",
    "command.imagine": "画一张图：/imagine 暴风雨中的灯塔 16:9",
    "command.help": "使用说明和你的额度",
    "command.quota": "今天已用和剩余的图片数",
    "command.accounts": "Cloudflare 账户状态（管理员）",
    "accounts.state.healthy": "正常",
    "accounts.state.spent": "每日额度已用完",
    "accounts.state.cooling": "冷却中",
    "accounts.state.misconfigured": "需要处理",
    # durations
    "duration.hours_minutes": "{hours} 小时 {minutes} 分钟",
    "duration.minutes": "{minutes} 分钟",
    "duration.seconds": "{seconds} 秒",
    # the prompt parser's and reference checks' error codes (bot.errors.InvalidRequest.code)
    "invalid.empty_prompt": "请描述你想要的图片：提示词是空的。",
    "invalid.prompt_too_long": "提示词有 {length} 个字符；上限是 {limit} 个。",
    "invalid.bad_ratio": "这不是有效的宽高比；请写成 16:9 这样的格式。",
    "invalid.ratio_out_of_range": "无法使用这个宽高比；请选择 1:4 到 4:1 之间、更接近 1:1 的比例。",
    "invalid.bad_size": "这个图片尺寸不可用；请写成 1024x768 这样的格式，每边 256 到 1920 像素。",
    "invalid.bad_seed": "种子必须是 0 到 4294967295 之间的整数。",
    "invalid.bad_steps": "步数超出了这个模型允许的范围。",
    "invalid.bad_flag": "参数 {flag} 不需要值。",
    "invalid.unknown_flag": "未知参数 {flag}；可用的参数有 --ar、--size、--seed、--steps、--no 和 --raw。",
    "invalid.missing_value": "参数 {flag} 需要一个值。",
    "invalid.bad_json": "JSON 提示词无效；请检查括号、引号和逗号。",
    "invalid.too_many": "最多只能使用 {limit} 张参考图；你发送了 {count} 张。",
    "invalid.unsupported": "当前配置的模型不能使用参考图。",
    "invalid.unreadable": "有一张参考图已损坏或不完整，无法读取。",
    "invalid.not_an_image": "参考文件不是 JPEG、PNG、WebP、GIF 或 BMP 图片。",
    "invalid.too_large": "参考图太大了。",
    "invalid.too_many_pixels": "参考图的像素太多了。",
}
