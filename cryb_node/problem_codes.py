"""The registry of problem codes: every ``code`` an error response of the API can carry, each with a
one-line meaning. Codes are stable (clients branch on them); docs/errors.md is generated from here
(``python -m cryb_node.problem_codes --markdown``) and tests/test_problem_codes.py fails on a code
used in cryb_node/ or plugins/ that is not listed here, and on one listed here that nothing uses.
"""

from __future__ import annotations

import sys
from enum import StrEnum


class Code(StrEnum):
    """A problem code. ``Problem`` takes a member or its text; both render the same."""

    meaning: str

    def __new__(cls, value: str, meaning: str) -> Code:
        member = str.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        return member

    ACCOUNT_DISABLED = "account_disabled", "The account is disabled or erased; it cannot sign in or act."
    ACCOUNT_MOVED = "account_moved", "The account moved to another node (moved_to names it); sign in there."
    ACCOUNT_PENDING = "account_pending", "This account waits for approval: approve or reject it."
    ADDRESS_REFUSED = (
        "address_refused",
        "The node will not connect there: a private, loopback or reserved address (admins can allow one).",
    )
    ALLOW_DENY_OVERLAP = "allow_deny_overlap", "A bit cannot be both allowed and denied."
    ALREADY_BANNED = "already_banned", "That user or node is already banned on this node."
    ALREADY_BLOCKED = "already_blocked", "These bytes are already on the block list."
    ALREADY_MEMBER = "already_member", "You are already a member."
    ALREADY_OWNER = "already_owner", "That member already owns the community."
    ALREADY_REPORTED = "already_reported", "You already reported this; the moderators or admins have it."
    ALREADY_TAKEN_DOWN = "already_taken_down", "This media is already taken down."
    ANONYMOUS_POLL = "anonymous_poll", "This poll is anonymous: its counts are shown, its voters are not."
    ANSWER_REQUIRED = "answer_required", "Answer the node's question to apply."
    ATTACHED = "attached", "This media is attached; delete the post or message instead."
    AUTHOR_MOVED = "author_moved", "The account had moved to another node at this point."
    AUTOMOD_BLOCKED = "automod_blocked", "A community automod rule blocked the message or post."
    AUTOMOD_TIMEOUT = "automod_timeout", "Automod blocked the message and timed the author out."
    BAD_REMOTE_MEDIA = "bad_remote_media", "The node holding this file sent something else; refused."
    BAD_REQUEST = "bad_request", "A malformed HTTP request (bad syntax, or a line or header too long)."
    BANNED = "banned", "You are banned from this community."
    BLOCKED = "blocked", "You cannot send a friend request to this user (blocked)."
    BOT_REQUIRED = "bot_required", "Only a bot account (with its API token) may do this."
    BUSY = "busy", "Storage cleanup is running; try again."
    CANNOT_SEND = "cannot_send", "You may not post here now (timed out?)."
    COMMAND_TAKEN = "command_taken", "Another bot already has a slash command of that name in this community."
    CONFIRMATION_MISMATCH = "confirmation_mismatch", "Type the account's username to confirm."
    EDGE_READ_ONLY = "edge_read_only", "An edge node never writes events itself; writes go to the primary."
    EMAIL_TAKEN = "email_taken", "That email is already in use."
    EVENT_CANCELLED = "event_cancelled", "The scheduled event was cancelled: it takes no edits or answers."
    EVERYONE_FIXED = "everyone_fixed", "@everyone keeps its name and position."
    EXISTS = "exists", "That community already exists."
    EXPORT_EXPIRED = "export_expired", "This export has expired: ask for a new one."
    EXPORT_NOT_READY = (
        "export_not_ready",
        "The data export is still being built (or failed); not ready to download.",
    )
    EXPORT_TOO_SOON = "export_too_soon", "A data export was asked for too recently; Retry-After says when."
    FORBIDDEN = "forbidden", "Not allowed: the caller lacks the right for this action."
    INSUFFICIENT_SCOPE = (
        "insufficient_scope",
        "The API token lacks the scope this route needs (read, write, moderate, admin), or no token may.",
    )
    INTERACTION_EXPIRED = (
        "interaction_expired",
        "The interaction's answer deadline has passed, or it was already answered.",
    )
    INTERNAL = "internal", "An unexpected server error; the request id is in the logs."
    INVALID_ACTION = "invalid_action", "An automod rule's action is not one of the known actions."
    INVALID_BODY = "invalid_body", "A JSON request body is required."
    INVALID_CHOICE = "invalid_choice", "A poll vote names an answer twice or one the poll does not have."
    INVALID_CODE = "invalid_code", "The two-factor code is not correct."
    INVALID_CREDENTIALS = "invalid_credentials", "The login or password is not correct."
    INVALID_EMAIL_TOKEN = "invalid_email_token", "This link is invalid, expired or already used."
    INVALID_EVENT = "invalid_event", "An event that makes no sense (a community created by a non-user, say)."
    INVALID_FIELD = (
        "invalid_field",
        "A field of the request body has the wrong type, value or is unknown; `field` names it.",
    )
    INVALID_IMAGE = "invalid_image", "The file could not be read as an image (or a video's poster frame)."
    INVALID_JSON = "invalid_json", "The request body is not valid JSON."
    INVALID_KIND = "invalid_kind", "A channel kind that does not exist."
    INVALID_NODE_SIGNATURE = "invalid_node_signature", "A federation call's node signature does not verify."
    INVALID_PARENT = "invalid_parent", "A parent must be a category of this community."
    INVALID_QUERY = (
        "invalid_query",
        "A query parameter is wrong, or a data-console request names a table and SQL at once.",
    )
    INVALID_REFRESH_TOKEN = "invalid_refresh_token", "The refresh token is invalid or expired."
    INVALID_REGEX = (
        "invalid_regex",
        "An automod pattern RE2 cannot compile (no backreferences or lookaround).",
    )
    INVALID_SQL = "invalid_sql", "The data console's SQL does not parse."
    INVALID_TARGET = (
        "invalid_target",
        "An action aimed at a target it cannot have (befriending yourself, say).",
    )
    INVALID_TARGET_TYPE = (
        "invalid_target_type",
        "A permission overwrite's target_type is neither role nor member.",
    )
    INVALID_TOKEN = "invalid_token", "The Authorization header is not a valid bearer access token."
    INVITE_EXPIRED = "invite_expired", "This invite has expired."
    INVITE_INVALID = "invite_invalid", "The invite code or registration token is not valid."
    INVITE_NOT_FOUND = "invite_not_found", "No such invite for this community."
    INVITE_REQUIRED = "invite_required", "This community is private: an invite is needed."
    INVITE_REVOKED = "invite_revoked", "This invite was revoked."
    INVITE_USED_UP = "invite_used_up", "This invite has no uses left."
    LAST_ADMIN = "last_admin", "This is the node's last active admin: make another account an admin first."
    LAST_SIGN_IN_METHOD = "last_sign_in_method", "Set a password before removing the last provider."
    LOCAL_USER = (
        "local_user",
        "A node ban named an account of this node: disable or erase the account instead.",
    )
    LOGIN_LOCKED = "login_locked", "Too many wrong passwords; try again later."
    MAIL_FAILED = "mail_failed", "The mail could not be sent; try again later."
    MEDIA_BLOCKED = (
        "media_blocked",
        "This file was taken down by the node's admins and cannot be uploaded again.",
    )
    MEDIA_UNAVAILABLE = "media_unavailable", "The node holding this file could not be reached; try again."
    METHOD_NOT_ALLOWED = "method_not_allowed", "The route does not accept this HTTP method."
    MISSING_PERMISSION = "missing_permission", "The member lacks the community permission this needs."
    MULTIPLE_STATEMENTS = "multiple_statements", "The data console runs one statement at a time."
    NAME_AMBIGUOUS = "name_ambiguous", "Several users have this name and home: ban by id."
    NAME_NEEDS_HOME = "name_needs_home", "A node ban names a user of another node as name@home."
    NAME_TAKEN = "name_taken", "The name is already used in this community (an emoji, say)."
    NOT_SELF_ASSIGNABLE = "not_self_assignable", "That role is not one members may give themselves."
    NO_EMAIL = "no_email", "This account has no email address."
    NO_PASSWORD = "no_password", "This account signs in through a provider only."
    NODE_BANNED = "node_banned", "The author (or their node) is banned on this node."
    NODE_SIGNATURE_REQUIRED = (
        "node_signature_required",
        "A federation call without the node signature header.",
    )
    NOT_BANNED = "not_banned", "That user is not banned."
    NOT_FOUND = "not_found", "No such resource (or route), or the caller may not know it exists."
    NOT_IN_VOICE = "not_in_voice", "That member (or you) is not in this voice channel now."
    NOT_MEMBER = "not_member", "That user is not a member of this community."
    OAUTH_BAD_ID_TOKEN = "oauth_bad_id_token", "The OAuth provider's id_token did not verify."
    OAUTH_EMAIL_IN_USE = (
        "oauth_email_in_use",
        "An account with this email exists: sign in with its password, then link this provider.",
    )
    OAUTH_EXCHANGE_FAILED = "oauth_exchange_failed", "The provider refused the authorization code."
    OAUTH_LINKED_ELSEWHERE = "oauth_linked_elsewhere", "That provider account is linked to another user."
    OAUTH_PROVIDER_ERROR = "oauth_provider_error", "The provider's discovery document is unavailable."
    OAUTH_STATE_MISMATCH = "oauth_state_mismatch", "Unknown, expired or reused sign-in state."
    OUT_OF_RANGE = "out_of_range", "A number outside its allowed range."
    OWN_NODE = "own_node", "A node ban named this node's own key."
    OWNER_CANNOT_LEAVE = "owner_cannot_leave", "Transfer ownership or delete the community first."
    OWNER_ONLY = "owner_only", "Only the community owner may do this."
    OWNER_REQUIRED = "owner_required", "A community must be created by a user, its owner."
    PAYLOAD_TOO_LARGE = "payload_too_large", "The request body or upload is larger than allowed."
    PEER_NOT_PINNED = "peer_not_pinned", "This node has not pinned your node key (cryb peer add)."
    PERMISSION_NOT_HELD = (
        "permission_not_held",
        "A role or overwrite grants a permission the actor does not hold.",
    )
    POLL_CLOSED = "poll_closed", "The poll ended or passed its deadline (at the vote's time): no more votes."
    POW_EXPIRED = "pow_expired", "The sign-up challenge expired; get a new one."
    POW_INVALID = "pow_invalid", "The sign-up challenge is not solved."
    POW_REPLAYED = "pow_replayed", "This sign-up challenge was already used."
    POW_REQUIRED = "pow_required", "Solve the sign-up challenge first."
    PRIMARY_UNAVAILABLE = (
        "primary_unavailable",
        "This edge cannot reach the primary node that takes writes; Retry-After says when to try again.",
    )
    QUERY_NOT_ALLOWED = (
        "query_not_allowed",
        "The data console allows only read-only statements (no writes, ATTACH or PRAGMA changes).",
    )
    QUERY_TIMEOUT = "query_timeout", "A data-console query ran past its time budget and was stopped."
    QUOTA_EXCEEDED = "quota_exceeded", "This upload exceeds your storage quota."
    RANGE_NOT_SATISFIABLE = "range_not_satisfiable", "The Range header asks for bytes outside the file."
    RATE_LIMITED = (
        "rate_limited",
        "Too many requests in this rate-limit bucket; see Retry-After and X-RateLimit-* headers.",
    )
    REFRESH_REUSED = "refresh_reused", "This refresh token was already used; the session is revoked."
    REGISTRATION_CLOSED = (
        "registration_closed",
        "Sign-ups are closed on this node; an admin can make your account.",
    )
    REPORT_CLOSED = "report_closed", "The report is already resolved or dismissed."
    ROLE_HIERARCHY = "role_hierarchy", "That member's highest role is at or above yours."
    RULES_CHANGED = "rules_changed", "The community's rules changed since you read them: read them again."
    RULES_NOT_ACCEPTED = (
        "rules_not_accepted",
        "Accept the community's rules before posting, reacting or voting.",
    )
    SEARCH_UNAVAILABLE = "search_unavailable", "The search index is being rebuilt; try again soon."
    SETUP_UNAVAILABLE = "setup_unavailable", "The setup link is used up or wrong."
    SIGNATURE_INVALID = "signature_invalid", "The URL's signature does not match."
    SIGNATURE_REQUIRED = "signature_required", "This media is private: use the signed URL you were given."
    SIGNUP_RATE_LIMITED = (
        "signup_rate_limited",
        "Too many sign-ups from this address or on this node; Retry-After says when.",
    )
    SIGNUP_REFUSED = "signup_refused", "This sign-up could not be completed."
    SLOWMODE = "slowmode", "The channel's slow mode: wait before sending again."
    STORAGE_FULL = "storage_full", "The node's disk is full; nothing was saved, try again later."
    STORAGE_UNAVAILABLE = "storage_unavailable", "The file could not be stored; try again."
    TARGET_IS_ADMIN = "target_is_admin", "Administrators cannot be timed out."
    TARGET_IS_OWNER = "target_is_owner", "The community owner cannot be acted on."
    TIMED_OUT = "timed_out", "The member is timed out in this community."
    TOO_MANY_CHOICES = "too_many_choices", "More answers than the poll takes (one unless multiple choice)."
    TOO_MANY_SAVED = "too_many_saved", "You keep as many saved items as a member may; remove some first."
    TOO_MANY_CONNECTIONS = "too_many_connections", "Too many open connections; try again shortly."
    TOO_MANY_FRAMES = "too_many_frames", "An animation with more frames than the node accepts."
    TOO_MANY_TOKENS = "too_many_tokens", "An account has as many API tokens (or bots) as it may."
    TOO_MANY_PATTERNS = (
        "too_many_patterns",
        "A community's automod regex rules hold too many patterns in all.",
    )
    TOO_MANY_PIXELS = "too_many_pixels", "An image larger (in pixels) than the node accepts."
    TOO_MANY_REACTIONS = "too_many_reactions", "This has as many different emoji as it can take."
    TOO_MANY_RULES = "too_many_rules", "A community has as many automod rules as it may."
    TOTP_ENABLED = "totp_enabled", "Two-factor sign-in is already on; disable it first."
    TOTP_INVALID = "totp_invalid", "The two-factor code is not correct."
    TOTP_NOT_ENROLLING = (
        "totp_not_enrolling",
        "Two-factor confirmation without a started enrolment: start enrolment first.",
    )
    TOTP_REQUIRED = "totp_required", "This account needs a two-factor code."
    UNAUTHORIZED = "unauthorized", "Authentication required: no or an invalid bearer token."
    UNAVAILABLE = "unavailable", "This node does not serve that (media over federation)."
    UNKNOWN_EMOJI = "unknown_emoji", "Not a unicode emoji nor one of this community's emoji."
    UNKNOWN_TAG = "unknown_tag", "A post's tags must come from its forum channel's tag set."
    UNKNOWN_PERMISSION_BITS = (
        "unknown_permission_bits",
        "A permission value with bits that name no permission.",
    )
    UNSUPPORTED_MEDIA_TYPE = (
        "unsupported_media_type",
        "The file type is not accepted, or its contents do not match its type.",
    )
    URL_EXPIRED = "url_expired", "This signed URL has expired; fetch the media again for a new one."
    USER_REQUIRED = "user_required", "Only a user may do this (join a community, say)."
    USERNAME_RESERVED = "username_reserved", "That username is reserved."
    USERNAME_TAKEN = "username_taken", "That username is already in use."
    VERIFICATION_REQUIRED = (
        "verification_required",
        "The community's verification level holds you back (verified email, account or membership age).",
    )
    WEBHOOK_OWNER_NOT_ALLOWED = (
        "webhook_owner_not_allowed",
        "The webhook's owner may no longer post in its channel (MANAGE_WEBHOOKS and SEND_MESSAGES).",
    )
    VOICE_CHANNEL_FULL = (
        "voice_channel_full",
        "The voice channel is at its user limit (MOVE_MEMBERS joins anyway).",
    )
    VOICE_SFU_UNAVAILABLE = (
        "voice_sfu_unavailable",
        "The voice channel's media server (Janus) is not reachable.",
    )
    VOICE_MUTED = "voice_muted", "A muted member (by themselves, a moderator, or without SPEAK) cannot speak."
    WEBHOOK_TOKEN_INVALID = "webhook_token_invalid", "No webhook has this id and token (rotated or deleted?)."
    WRONG_CHANNEL_KIND = (
        "wrong_channel_kind",
        "This is not possible in this kind of channel (a post in a text channel, say).",
    )
    WRONG_PASSWORD = "wrong_password", "The current password is not correct."


def markdown() -> str:
    """docs/errors.md: every code with its meaning."""
    lines = [
        "# Problem codes",
        "",
        "Every error response is `application/problem+json` (RFC 9457) with a stable `code`; a client",
        "branches on the code, never on `detail` (a sentence that may change). `field` names the",
        "offending input where there is one. Which codes each route can answer is listed in",
        "`/api/openapi.json` (`x-problem-codes` on each operation).",
        "",
        "Generated from `cryb_node/problem_codes.py` by `python -m cryb_node.problem_codes --markdown`;",
        "do not edit by hand.",
        "",
        "| code | meaning |",
        "| --- | --- |",
    ]
    lines += [f"| `{code.value}` | {code.meaning} |" for code in Code]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m cryb_node.problem_codes --markdown")
    sys.stdout.write(markdown())
