// A community's custom emoji (GET /api/v1/communities/{id}/emojis) with their image URLs, kept per
// community for the session. In text they are written <:name:id> (the reactions API's "name:id").

import { communities } from '../content.js';
import { h } from '../dom.js';
import * as store from '../store.js';
import { describe } from './attachments.js';

const lists = new Map(); // community id -> Promise<[{id, name, media_id, url}]>

function smallest(media) {
  const vs = (media?.variants || []).slice().sort((a, b) => (a.size || 0) - (b.size || 0));
  return (vs.find((v) => v.name.startsWith('thumb_')) || vs[0])?.url || null;
}

/** The community's emoji with an image URL each (an empty list if they cannot be read). */
export function communityEmoji(communityId, { fresh = false } = {}) {
  if (!communityId) return Promise.resolve([]);
  if (fresh || !lists.has(communityId)) {
    const p = communities.emojis(communityId)
      .then((r) => Promise.all((r.emojis || []).map(async (e) => ({ ...e, url: smallest(await describe(e.media_id)) }))))
      .catch(() => { lists.delete(communityId); return []; });
    lists.set(communityId, p);
  }
  return lists.get(communityId);
}

/** Forget a community's list (its emoji changed): the next use fetches it again. */
export function forgetCommunityEmoji(communityId) {
  lists.delete(communityId);
}

/** An <img> for the token <:name:id>, drawn once the open community's list says where it is. */
export function emojiImage(name, id) {
  const img = h('img', { class: 'custom-emoji', alt: `:${name}:`, title: `:${name}:`, width: '22', height: '22' });
  communityEmoji(store.state.current?.communityId).then((list) => {
    const e = list.find((x) => x.id === id);
    if (e && e.url) {
      img.src = e.url;
      img.alt = img.title = `:${e.name}:`; // renamed since the message was written: today's name
    } else img.replaceWith(document.createTextNode(`:${name}:`));
  });
  return img;
}
