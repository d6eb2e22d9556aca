"""The node admin's list of uploads: newest first, by user or by bytes, with where each is attached
and whether it was taken down. `GET /api/v1/admin/media` and `cryb media list` both call this."""

from __future__ import annotations

import json
from typing import Any

from cryb_node.services import PLACES

from . import queries
from .schemas import AdminMediaItem, AdminMediaPage, AdminMediaQuery, TakedownInfo
from .service import MediaService

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
    sql = (
        queries.ADMIN_LIST
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY m.id DESC LIMIT ?"
    )
    db = media.node.db
    rows = await db.fetchall(sql, (*params, q.limit))
    ids = json.dumps([r["id"] for r in rows])
    targets: dict[str, list[str]] = {}
    for t in await db.fetchall(queries.TARGETS_OF, (ids,)):
        targets.setdefault(t["media_id"], []).append(t["target_id"])
    variants: dict[str, list[str]] = {}
    for v in await db.fetchall(queries.VARIANT_NAMES_OF, (ids,)):
        variants.setdefault(v["media_id"], []).append(v["name"])
    places = media.node.services.get(PLACES)
    channels = sorted({r["channel_id"] for r in rows if r["channel_id"]})
    names = await places.places(channels) if places is not None else {}
    items = []
    for r in rows:
        place = names.get(r["channel_id"]) if r["channel_id"] else None
        thumb = _thumbnail(variants.get(r["id"], []))
        items.append(
            AdminMediaItem(
                id=r["id"],
                owner_id=r["owner_id"],
                kind=r["kind"],
                mime=r["mime"],
                size=r["size"],
                filename=r["filename"],
                sha256=r["source_sha256"],
                created_at=r["created_ms"],
                channel_id=r["channel_id"],
                channel_name=place.channel_name if place else None,
                community_name=place.community_name if place else None,
                attached=r["attached_ms"] is not None,
                attached_to=targets.get(r["id"], []),
                thumbnail_url=media.signed_url(r["id"], thumb, PREVIEW_TTL_S) if thumb else None,
                taken_down=None
                if r["taken_at"] is None
                else TakedownInfo(
                    at=r["taken_at"],
                    reason=r["taken_reason"],
                    actor_id=r["taken_by"],
                    sha256=r["taken_sha256"],
                ),
            )
        )
    return AdminMediaPage(items=items, next_after=rows[-1]["id"] if len(rows) == q.limit else None)
