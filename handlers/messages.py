"""Every text the bot says, in Korean and English. `say(lang, key, **values)` picks one."""

from __future__ import annotations

from typing import Final

from bot.models import Chat

_TEXTS: Final[dict[str, tuple[str, str]]] = {
    # key: (Korean, English)
    "welcome": (
        "안녕하세요! newsbot이 뉴스 속보를 이 채팅으로 보내 드립니다.\n"
        "아래에서 카테고리를 골라 구독하거나 /subscribe 카테고리 를 입력하세요. "
        "모든 기사: /subscribe all, 속보만: /subscribe breaking",
        "Hello! newsbot sends breaking news to this chat.\n"
        "Pick categories below, or type /subscribe CATEGORY. "
        "Everything: /subscribe all, breaking news only: /subscribe breaking",
    ),
    "help": (
        "명령어:\n"
        "/latest [n] — 최신 기사 n개 (기본 5, 최대 20)\n"
        "/category 이름 — 그 카테고리의 최신 기사\n"
        "/categories — 카테고리 목록과 구독 여부\n"
        "/subscribe 카테고리… | all | breaking — 구독\n"
        "/unsubscribe 카테고리… | all — 구독 해지\n"
        "/subscriptions — 이 채팅의 구독\n"
        "/filter add 낱말 — 키워드가 있는 기사만 (-낱말: 제외)\n"
        "/quiet 23:00-07:00 — 조용한 시간, /digest daily 08:00 — 하루 한 번 모아 받기\n"
        "/lang ko|en — 언어 변경",
        "Commands:\n"
        "/latest [n] — the n newest posts (default 5, at most 20)\n"
        "/category NAME — the newest posts in that category\n"
        "/categories — every category, and whether you follow it\n"
        "/subscribe CATEGORY… | all | breaking — subscribe\n"
        "/unsubscribe CATEGORY… | all — unsubscribe\n"
        "/subscriptions — this chat's subscriptions\n"
        "/filter add WORD — only posts that mention it (-WORD: none that do)\n"
        "/quiet 23:00-07:00 — quiet hours, /digest daily 08:00 — one digest a day\n"
        "/lang ko|en — change the language",
    ),
    "admin_help": (
        "관리자: /broadcast [#카테고리] 내용, /recall 방송번호, /recall post 기사번호, /stats,\n"
        "/sources, /addsource URL [카테고리…], /removesource 이름, /pausesource 이름, "
        "/resumesource 이름 (OPML 파일을 보내면 가져옵니다)",
        "Admins: /broadcast [#CATEGORY] TEXT, /recall BROADCAST_ID, /recall post POST_ID, /stats,\n"
        "/sources, /addsource URL [CATEGORY…], /removesource NAME, /pausesource NAME, "
        "/resumesource NAME (send an OPML file to import it)",
    ),
    "unknown_command": ("알 수 없는 명령어입니다: /{command}", "Unknown command: /{command}"),
    "too_long": (
        "입력이 너무 깁니다 (최대 {limit}자).",
        "That is too long (at most {limit} characters).",
    ),
    "control_chars": (
        "입력에 제어 문자가 들어 있습니다.",
        "That contains control characters.",
    ),
    "latest_usage": (
        "사용법: /latest [1-{max}]",
        "Usage: /latest [1-{max}]",
    ),
    "latest_title": ("최신 기사", "Latest posts"),
    "category_title": ("{category} 최신 기사", "Latest in {category}"),
    "no_posts": ("아직 기사가 없습니다.", "No posts yet."),
    "unknown_category": (
        "'{category}' 카테고리가 없습니다. 있는 카테고리: {known}",
        "There is no category '{category}'. Known categories: {known}",
    ),
    "no_categories": ("아직 카테고리가 없습니다.", "No categories yet."),
    "categories_title": (
        "카테고리 (✅ 구독 중) — 버튼을 눌러 구독/해지:",
        "Categories (✅ subscribed) — press a button to toggle:",
    ),
    "category_line": ("{mark} {name} — 기사 {count}개", "{mark} {name} — {count} posts"),
    "subscribe_usage": (
        "사용법: /subscribe 카테고리… (또는 all, breaking). 있는 카테고리: {known}",
        "Usage: /subscribe CATEGORY… (or all, breaking). Known categories: {known}",
    ),
    "unsubscribe_usage": (
        "사용법: /unsubscribe 카테고리… (또는 all)",
        "Usage: /unsubscribe CATEGORY… (or all)",
    ),
    "subscribed": ("구독했습니다: {names}", "Subscribed to: {names}"),
    "already_subscribed": ("이미 구독 중입니다: {names}", "Already subscribed to: {names}"),
    "no_posts_yet": (
        "아직 기사가 없는 카테고리입니다: {names} (기사가 올라오면 알려 드립니다). "
        "있는 카테고리: {known}",
        "No posts in these categories yet: {names} (you will get them when they come). "
        "Known categories: {known}",
    ),
    "unsubscribed": ("구독을 해지했습니다: {names}", "Unsubscribed from: {names}"),
    "not_subscribed": ("구독하지 않은 카테고리입니다: {names}", "Not subscribed to: {names}"),
    "subscriptions": ("이 채팅의 구독: {names}", "This chat's subscriptions: {names}"),
    "no_subscriptions": (
        "구독이 없습니다. /subscribe 카테고리 로 구독하세요.",
        "No subscriptions. Use /subscribe CATEGORY to add one.",
    ),
    "lang_usage": ("사용법: /lang ko|en", "Usage: /lang ko|en"),
    "lang_set": ("이제 한국어로 답합니다.", "I will answer in English now."),
    "need_manage": (
        "이 채팅의 구독과 설정은 채팅 관리자만 바꿀 수 있습니다.",
        "Only this chat's admins can change its subscriptions and settings.",
    ),
    "need_manage_discord": (
        "이 채널의 구독을 바꾸려면 채널 관리 권한이 필요합니다.",
        "You need the Manage Channels permission to change this channel's subscriptions.",
    ),
    "admins_only": ("관리자만 쓸 수 있는 명령어입니다.", "Only admins can use that command."),
    "broadcast_usage": (
        "사용법: /broadcast [#카테고리] 내용",
        "Usage: /broadcast [#CATEGORY] TEXT",
    ),
    "broadcast_preview": (
        "방송 #{id} 미리보기 — {count}개 채팅에 보냅니다:\n\n{text}",
        "Broadcast #{id} preview — goes to {count} chats:\n\n{text}",
    ),
    "broadcast_queued": (
        "방송 #{id}을(를) {count}개 채팅에 보내는 중입니다.",
        "Broadcast #{id} is going out to {count} chats.",
    ),
    "broadcast_cancelled": ("방송 #{id}을(를) 취소했습니다.", "Broadcast #{id} cancelled."),
    "broadcast_gone": (
        "방송 #{id}은(는) 이미 보냈거나 취소되었습니다.",
        "Broadcast #{id} was already sent or cancelled.",
    ),
    "recall_usage": (
        "사용법: /recall 방송번호 또는 /recall post 기사번호",
        "Usage: /recall BROADCAST_ID or /recall post POST_ID",
    ),
    "recall_unknown": ("{what} #{id}을(를) 찾을 수 없습니다.", "There is no {what} #{id}."),
    "recalled": (
        "{what} #{id} 회수: 대기 중 {cancelled}건 취소, 보낸 메시지 {deleting}건 삭제 중.",
        "{what} #{id} recalled: {cancelled} queued cancelled, {deleting} sent messages "
        "being deleted.",
    ),
    "broadcast_word": ("방송", "Broadcast"),
    "post_word": ("기사", "Post"),
    "filter_usage": (
        '사용법: /filter add 낱말 | /filter add "여러 낱말" | /filter add -제외할낱말 | '
        "/filter list | /filter remove 낱말 | /filter clear",
        'Usage: /filter add WORD | /filter add "SOME WORDS" | /filter add -EXCLUDED | '
        "/filter list | /filter remove WORD | /filter clear",
    ),
    "filter_added": ("키워드를 추가했습니다: {term}", "Keyword added: {term}"),
    "filter_exists": ("이미 있는 키워드입니다: {term}", "You have that keyword already: {term}"),
    "filter_removed": ("키워드를 지웠습니다: {term}", "Keyword removed: {term}"),
    "filter_missing": ("없는 키워드입니다: {term}", "No such keyword: {term}"),
    "filter_cleared": ("키워드 {count}개를 모두 지웠습니다.", "Removed all {count} keywords."),
    "filter_list": (
        "키워드 (제목·요약에 있어야 함): {include}\n제외 키워드: {exclude}",
        "Keywords (must appear in headline or excerpt): {include}\nExcluded: {exclude}",
    ),
    "filter_refused": ("키워드를 쓸 수 없습니다: {reason}", "That keyword can't be used: {reason}"),
    "quiet_usage": (
        "사용법: /quiet 23:00-07:00 (속보는 계속 받기) | /quiet 23:00-07:00 all | /quiet off",
        "Usage: /quiet 23:00-07:00 (breaking news still comes) | /quiet 23:00-07:00 all | "
        "/quiet off",
    ),
    "quiet_set": (
        "조용한 시간: {start}-{end} ({zone}). "
        "그동안의 알림은 끝날 때 한 번에 모아 보냅니다{extra}.",
        "Quiet hours: {start}-{end} ({zone}). Alerts wait and come as one digest when they "
        "end{extra}.",
    ),
    "quiet_breaking": (" (속보는 바로 보냅니다)", " (breaking news still comes at once)"),
    "quiet_off": ("조용한 시간을 껐습니다.", "Quiet hours are off."),
    "digest_usage": (
        "사용법: /digest daily 08:00 | /digest off",
        "Usage: /digest daily 08:00 | /digest off",
    ),
    "digest_set": (
        "매일 {at} ({zone})에 구독한 카테고리의 기사를 모아 보냅니다. 개별 알림은 보내지 않습니다.",
        "One digest of your categories every day at {at} ({zone}), instead of single alerts.",
    ),
    "digest_off": (
        "다이제스트를 껐습니다. 알림을 바로 보냅니다.",
        "Digest is off: alerts come as they happen.",
    ),
    "sources_none": ("소스가 없습니다.", "No sources."),
    "source_line": (
        "{name} [{status}] {location}\n  마지막 수집: {last}{error}",
        "{name} [{status}] {location}\n  last fetch: {last}{error}",
    ),
    "source_error": ("\n  오류: {error}", "\n  error: {error}"),
    "addsource_usage": ("사용법: /addsource URL [카테고리…]", "Usage: /addsource URL [CATEGORY…]"),
    "source_usage": ("사용법: /{command} 이름", "Usage: /{command} NAME"),
    "source_added": (
        "소스를 추가했습니다: {name}. 지금 있는 기사는 기준으로 기록했고, 새 기사부터 알립니다.",
        "Source added: {name}. What it holds now is recorded; new posts will be alerted.",
    ),
    "source_refused": ("거절했습니다: {reason}", "Refused: {reason}"),
    "source_removed": ("소스를 지웠습니다: {name}", "Source removed: {name}"),
    "source_paused": ("소스를 멈췄습니다: {name}", "Source paused: {name}"),
    "source_resumed": ("소스를 다시 시작했습니다: {name}", "Source resumed: {name}"),
    "opml_report": (
        "OPML 가져오기: 추가 {added}개, 중복으로 건너뜀 {skipped}개, 거절 {refused}개.",
        "OPML import: {added} added, {skipped} skipped as duplicates, {refused} refused.",
    ),
    "settings": (
        "이 채팅의 설정\n언어: 한국어\n구독: {subscriptions}\n키워드: {filters}\n"
        "조용한 시간: {quiet}\n다이제스트: {digest}\n주제(토픽): {topic}",
        "This chat's settings\nLanguage: English\nSubscriptions: {subscriptions}\n"
        "Keywords: {filters}\nQuiet hours: {quiet}\nDigest: {digest}\nTopic: {topic}",
    ),
    "settings_off": ("끔", "off"),
    "settings_main": ("채팅 본문", "the main chat"),
    "button_language": ("English로 바꾸기", "한국어로 바꾸기"),
    "button_categories": ("카테고리 고르기", "Choose categories"),
    "button_quiet_off": ("조용한 시간 끄기", "Quiet hours off"),
    "button_digest_off": ("다이제스트 끄기", "Digest off"),
    "send": ("보내기", "Send"),
    "cancel": ("취소", "Cancel"),
    "stats": (
        "채팅: {chats}\n구독: {subscriptions}\n오늘 기사: {posts}\n"
        "전송 대기/완료/실패: {pending}/{sent}/{failed}\n오류 난 소스: {failing}",
        "Chats: {chats}\nSubscriptions: {subscriptions}\nPosts today: {posts}\n"
        "Deliveries pending/sent/failed: {pending}/{sent}/{failed}\nSources failing: {failing}",
    ),
    "none": ("없음", "none"),
}


def say(language: str, key: str, **values: object) -> str:
    """The text for `key` in `language` (Korean unless "en"), filled with `values`."""
    korean, english = _TEXTS[key]
    template = english if language == "en" else korean
    return template.format(**values) if values else template


def manage_key(chat: Chat) -> str:
    """Which refusal to show a member who may not change the chat's settings."""
    return "need_manage_discord" if chat.platform == "discord" else "need_manage"
