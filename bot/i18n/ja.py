"""Japanese messages. Keys and {placeholders} as in ``en``."""

MESSAGES: dict[str, str] = {
    # errors
    "error.generic": "画像の作成中に問題が発生しました。もう一度お試しください。",
    "error.shutting_down": "ボットが再起動中のため、画像を完成できませんでした。今回は利用枠に数えません。少し待ってからもう一度お試しください。",
    "error.access_denied": (
        "申し訳ありませんが、このボットはここではご利用いただけません。ボットの運営者に追加を依頼してください。"
    ),
    "error.limit_reached.minute": "少しペースが速すぎます。{wait}後にもう一度お試しください。",
    "error.limit_reached.day": (
        "本日の上限 {limit} 枚を使い切りました。上限は {reset}（{wait}後）にリセットされます。"
    ),
    "error.queue_full": "すでに {waiting} 枚の画像が順番待ちです。それらが終わってから次をリクエストしてください。",
    "error.job_not_found": "この画像はもう再生成できません。",
    "error.not_permitted": "この操作ができるのは、この画像をリクエストした人（または管理者）だけです。",
    "error.admin_only": "このコマンドは管理者だけが使えます。",
    "error.content_filtered": (
        "画像サービスの安全フィルターが、このプロンプトまたは生成結果を拒否しました。"
        "フィルターは誤判定することがあります。言い換えるとたいてい通ります。"
    ),
    "error.all_accounts_unavailable": (
        "ボットは現在、画像の利用枠を使い切っています。{when}（{wait}後）に再び利用できます。"
    ),
    "error.all_accounts_unavailable.unknown": (
        "ボットは現在、画像サービスに接続できません。アカウントについて運営者の対応が必要です。"
    ),
    "error.upstream_rejected": "画像サービスがこのリクエストを処理できませんでした。別のプロンプトやサイズをお試しください。",
    "error.upstream_unavailable": "画像サービスが現在応答していません。1 分ほどしてからもう一度お試しください。",
    "error.invalid_request": "{message}",
    "error.invalid_reference": "{message}",
    # progress
    "progress.queued": "順番待ち：{position} 番目です…",
    "progress.optimising": "プロンプトを磨いています…",
    "progress.generating": "画像を描いています…",
    # result
    "result.prompt": "プロンプト",
    "result.size": "サイズ",
    "result.seed": "シード",
    "result.model": "モデル",
    "result.references": "参照画像",
    "result.as_written": "プロンプトをそのまま使用しました（最適化機能が利用できませんでした）。",
    "result.your_prompt": "あなたのプロンプト",
    "result.optimised": "ボットがモデル向けにプロンプトを書き直しました。",
    "result.used_as_written": "プロンプトをそのまま使用しました。",
    # quota
    "quota.unlimited": "制限はありません（管理者）。",
    "quota.status": (
        "本日は {limit} 枚中 {used} 枚を使用し、残りは {remaining} 枚です。{reset}（{wait}後）にリセットされます。"
    ),
    "quota.status.no_daily": "本日は {used} 枚使用しました。1 日の上限はありません。",
    # commands and buttons
    "help.text": (
        "/imagine に続けて見たいものを送ってください。例：\n"
        "/imagine 嵐の中の灯台 16:9\n\n"
        "アスペクト比：プロンプトの最後に 1:1、16:9、9:16、3:2、3:4、1:2（1:4 から 4:1 まで自由）を付けるか、"
        "--ar 16:9 と書くか、1920x1080 のように正確なサイズを指定します。\n"
        "フラグ：--seed 42（同じ画像を再現）、--no 人物（除外したいもの。対応モデルのみ）、"
        "--raw（プロンプトを書いたとおりに使用）。\n"
        "参照画像（最大 {max_refs} 枚）：コマンドに写真を添付するか、写真に /imagine で返信します。\n"
        "JSON オブジェクトは構造化プロンプトとして使えます。\n\n"
        "あなたの上限：{limits}。残りは /quota で確認できます。"
    ),
    "help.limits": "1 日 {per_day} 枚、1 分 {per_minute} 枚",
    "help.limits.none": "なし",
    "button.reroll": "🔁 再生成",
    "button.original": "📄 オリジナル",
    "reroll.refused": "再生成できるのは、この画像をリクエストした人（または管理者）だけです。",
    "original.caption": "オリジナルファイル（無圧縮）。",
    "accounts.none": "Cloudflare アカウントが設定されていません。",
    "accounts.header": "アカウント（本日、UTC）：",
    "accounts.row": "{label}：{state}{until} — 画像 {images} 枚、{neurons} ニューロン",
    "accounts.until": "（{time} まで）",
    "reference.not_image": "このファイルは画像ではありません。写真か画像ファイル（JPEG、PNG、WebP）を送ってください。",
    "reference.too_large": "この画像は大きすぎます（{size_mb} MB）。上限は {limit_mb} MB です。",
    "reference.too_many": "参照画像は最大 {limit} 枚までです。送信されたのは {count} 枚です。",
    "reference.none_in_message": "そのメッセージには参照に使える画像がありません。",
    "reference.download_failed": "画像の 1 つをダウンロードできませんでした。もう一度お試しください。",
    "modal.title": "この画像から作成",
    "modal.prompt_label": "プロンプト",
    "modal.prompt_placeholder": "同じキャラクターが夕暮れのビーチにいる 16:9",
    "prompt.missing": "何を描くか教えてください：/imagine 嵐の中の灯台 16:9",
    "original.compressed_copy": (
        "無圧縮のオリジナルはもう保持されていません。これはチャットに保存されているコピーです（Telegram により圧縮済み）。"
    ),
    "original.unavailable": "この画像のオリジナルはもう利用できません。",
    "command.imagine": "絵を描く：/imagine 嵐の中の灯台 16:9",
    "command.help": "使い方とあなたの上限",
    "command.quota": "本日の使用枚数と残り",
    "command.accounts": "Cloudflare アカウントの状態（管理者）",
    "accounts.state.healthy": "稼働中",
    "accounts.state.spent": "本日の枠を使い切り",
    "accounts.state.cooling": "クールダウン中",
    "accounts.state.misconfigured": "要対応",
    # durations
    "duration.hours_minutes": "{hours} 時間 {minutes} 分",
    "duration.minutes": "{minutes} 分",
    "duration.seconds": "{seconds} 秒",
    # the prompt parser's and reference checks' error codes (bot.errors.InvalidRequest.code)
    "invalid.empty_prompt": "どんな画像がほしいか書いてください。プロンプトが空です。",
    "invalid.prompt_too_long": "プロンプトが {length} 文字あります。上限は {limit} 文字です。",
    "invalid.bad_ratio": "アスペクト比として読めません。16:9 のように書いてください。",
    "invalid.ratio_out_of_range": "このアスペクト比は使えません。1:4 から 4:1 の間で、より 1:1 に近いものを選んでください。",
    "invalid.bad_size": "この画像サイズは使えません。1024x768 のように、各辺 256〜1920 ピクセルで書いてください。",
    "invalid.bad_seed": "シードは 0 から 4294967295 までの整数にしてください。",
    "invalid.bad_steps": "ステップ数がこのモデルの範囲外です。",
    "invalid.bad_flag": "フラグ {flag} には値を付けません。",
    "invalid.unknown_flag": "不明なフラグ {flag} です。使えるフラグは --ar、--size、--seed、--steps、--no、--raw です。",
    "invalid.missing_value": "フラグ {flag} には値が必要です。",
    "invalid.bad_json": "JSON プロンプトが正しくありません。括弧、引用符、カンマを確認してください。",
    "invalid.too_many": "参照画像は最大 {limit} 枚までです。送信されたのは {count} 枚です。",
    "invalid.unsupported": "設定されているモデルは参照画像を使えません。",
    "invalid.unreadable": "参照画像の 1 つが壊れているか不完全で、読み込めません。",
    "invalid.not_an_image": "参照ファイルが JPEG、PNG、WebP、GIF、BMP のいずれの画像でもありません。",
    "invalid.too_large": "参照画像が大きすぎます。",
    "invalid.too_many_pixels": "参照画像のピクセル数が多すぎます。",
    # chat UX round two: cancel, vary, models, --n, /accounts in groups
    "error.cancelled": "キャンセルしました。利用枠には数えられていません。",
    "error.limit_reached.model": "モデル {model} は今日の {limit} 枚をすべて作成済みです。別のモデルを選ぶか（/help に一覧があります）、{reset}（{wait}後）に再度お試しください。",
    "button.cancel": "❌ キャンセル",
    "button.vary": "🎨 バリエーション",
    "cancel.refused": "キャンセルできるのは、この画像をリクエストした人（または管理者）だけです。",
    "cancel.too_late": "キャンセルするには遅すぎます。このリクエストはもう完了しています。",
    "vary.refused": "バリエーションを作れるのは、この画像をリクエストした人（または管理者）だけです。",
    "help.models": "モデル（--model 名前）:",
    "help.model_line": "{alias}: 1024² の画像 1 枚あたり約 {neurons} ニューロン、1 アカウントで 1 日約 {per_day} 枚",
    "help.model_cap": "{alias}: ボット全体で 1 日最大 {cap} 枚",
    "help.count": "--n 2〜{max}: 複数の画像を一度に作成します（1 枚ごとに利用枠に数えられます）。",
    "quota.model_left": "{model}: ボット全体で今日は残り {left} / {cap} 枚です。",
    "accounts.private_only": "グループでは /accounts に応答しません。個別チャットで送ってください。",
    "album.buttons": "上の画像のボタン（番号順）: 🔁 再生成、🎨 バリエーション、📄 オリジナル。",
    "invalid.unknown_model": "'{model}' というモデルはありません。次から選んでください: {choices}。",
    "invalid.too_many_images": "1 回のリクエストは最大 {limit} 枚です。{count} 枚が指定されました。",
    "error.limit_reached.day_short": "今日の残りは {limit} 枚中 {left} 枚で、指定の {count} 枚に足りません。枚数を減らすか、{reset}（{wait}後）までお待ちください。",
    "resume.maybe_delivered": "ボットの再起動直前に、画像はすでに送信されている可能性があります。上に見当たらない場合は、もう一度お試しください（利用枠には1回だけ数えています）。",
    "resume.gave_up": "ボットが何度か再起動したため、リクエストを完了できませんでした。今回は利用枠に数えません。プロンプトを簡単にするなどして、もう一度お試しください。",
}
