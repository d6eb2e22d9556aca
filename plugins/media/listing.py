"""The node admin's list of uploads: newest first, by user or by bytes, with where each is attached
and whether it was taken down. `GET /api/v1/admin/media` and `cryb media list` both call this."""

from __future__ import annotations

import json
from typing import Any

from cryb_node.services import PLACES

from .schemas import AdminMediaItem, AdminMediaPage, AdminMediaQuery, TakedownInfo
from .service import MediaService

# Ids sort by creation time, so "newest first" is the primary key backwards; by user it is the
# media_owner index (which carries the id), by bytes media_source and media_variants_blob.
LIST = (
    "SELECT m.id, m.owner_id, m.kind, m.mime, m.size, m.filename, m.source_sha256, m.created_ms,"
    " m.channel_id, m.attached_ms, t.created_ms, t.reason, t.actor_id, t.sha256"
    " FROM media m LEFT JOIN media_takedowns t ON t.media_id = m.id"
)
IN = "(SELECT value FROM json_each(?))"
PREVIEW_TTL_S = 900  # the admin page's thumbnails: long enough to look, short enough not to leak


def _thumbnail(names: list[str]) -> str | None:
    """The smallest thumbnail (thumb_<px>), else a video's poster frame."""
    thumbs = sorted((int(n[6:]), n) for n in names if n.startswith("thumb_") and n[6:].isdigit())
    if thumbs:
        return thumbs[0][1]
    return "poster" if "poster" in names else None


async def list_media(media: MediaService, q: AdminMediaQuery) -> AdminMediaPage:
    where: list[str] = []
    params: list[Any] = []
    if q.user_id:
        where.append("m.owner_id = ?")
        params.append(q.user_id)
    if q.sha256:
        where.append(
            "(m.source_sha256 = ? OR m.id IN (SELECT media_id FROM media_variants WHERE sha256 = ?))"
        )
        params += [q.sha256, q.sha256]
    if q.after:
        where.append("m.id < ?")
        params.append(q.after)
    sql = LIST + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY m.id DESC LIMIT ?"
    db = media.node.db
    rows = await db.fetchall(sql, (*params, q.limit))
    ids = json.dumps([r[0] for r in rows])
    targets: dict[str, list[str]] = {}
    for media_id, target in await db.fetchall(
        f"SELECT media_id, target_id FROM media_targets WHERE media_id IN {IN} ORDER BY target_id", (ids,)
    ):
        targets.setdefault(media_id, []).append(target)
    variants: dict[str, list[str]] = {}
    for media_id, name in await db.fetchall(
        f"SELECT media_id, name FROM media_variants WHERE media_id IN {IN}", (ids,)
    ):
        variants.setdefault(media_id, []).append(name)
    places = media.node.services.get(PLACES)
    names = await places.places(sorted({r[8] for r in rows if r[8]})) if places is not None else {}
    items = []
    for r in rows:
        place = names.get(r[8]) if r[8] else None
        thumb = _thumbnail(variants.get(r[0], []))
        items.append(
            AdminMediaItem(
                id=r[0],
                owner_id=r[1],
                kind=r[2],
                mime=r[3],
                size=r[4],
                filename=r[5],
                sha256=r[6],
                created_at=r[7],
                channel_id=r[8],
                channel_name=place.channel_name if place else None,
                community_name=place.community_name if place else None,
                attached=r[9] is not None,
                attached_to=targets.get(r[0], []),
                thumbnail_url=media.signed_url(r[0], thumb, PREVIEW_TTL_S) if thumb else None,
                taken_down=None
                if r[10] is None
                else TakedownInfo(at=r[10], reason=r[11], actor_id=r[12], sha256=r[13]),
            )
        )
    return AdminMediaPage(items=items, next_after=rows[-1][0] if len(rows) == q.limit else None)
