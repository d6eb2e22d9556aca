"""The projection rows of one community that federation's state hash covers (Plugin.state_queries).

Everything settled from the community's content events; view counts and read states are
node-local and left out.
"""

from __future__ import annotations

_TARGETS = (
    "SELECT id FROM content_messages WHERE community_id = :community"
    " UNION ALL SELECT id FROM content_posts WHERE community_id = :community"
    " UNION ALL SELECT id FROM content_comments WHERE community_id = :community"
)

QUERIES: dict[str, str] = {
    "messages": "SELECT * FROM content_messages WHERE community_id = :community",
    "posts": "SELECT * FROM content_posts WHERE community_id = :community",
    "comments": "SELECT * FROM content_comments WHERE community_id = :community",
    "emojis": "SELECT * FROM content_emojis WHERE community_id = :community",
    "purges": "SELECT * FROM content_purges WHERE community_id = :community",
    "reactions": f"SELECT * FROM content_reaction_counts WHERE target_id IN ({_TARGETS})",
    "votes": f"SELECT * FROM content_votes WHERE target_id IN ({_TARGETS})",
    "mod": f"SELECT * FROM content_mod WHERE target_id IN ({_TARGETS})",
}
