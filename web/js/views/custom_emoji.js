// A community's custom emoji ("name:id" in reactions) shown as their images: the list is fetched
// once per community and kept; the settings screen forgets it when an emoji is added or deleted.

import * as api from '../api.js';
import { h, replace } from '../dom.js';

const CUSTOM = /^([A-Za-z0-9_]{2,32}):([0-9a-z]{26})$/;
const lists = new Map(); // community id -> Promise<Map<emoji id, media id>>

function emojiOf(communityId) {
  if (!lists.has(communityId)) {
    lists.set(communityId, api.get(`/api/v1/communities/${encodeURIComponent(communityId)}/emojis`)
      .then((out) => new Map(out.emojis.map((e) => [e.id, e.media_id])))
      .catch(() => { lists.delete(communityId); return new Map(); }));
  }
  return lists.get(communityId);
}

export function forgetEmoji(communityId) {
  lists.delete(communityId);
}

/** How an emoji is read out: ":party:" for a custom one, the character itself otherwise. */
export function emojiName(emoji) {
  const m = CUSTOM.exec(emoji);
  return m ? `:${m[1]}:` : emoji;
}

/** The emoji as shown: the character, or the custom emoji's image once the list is known. */
export function emojiGlyph(emoji, communityId) {
  const m = CUSTOM.exec(emoji);
  const el = h('span', { 'aria-hidden': 'true' }, m ? `:${m[1]}:` : emoji);
  if (m && communityId) {
    emojiOf(communityId).then((known) => {
      const media = known.get(m[2]);
      if (media) replace(el, h('img', { class: 'custom-emoji', src: `/media/${encodeURIComponent(media)}/original`, alt: '', width: 20, height: 20 }));
    });
  }
  return el;
}
