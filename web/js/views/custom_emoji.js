// A community's custom emoji ("name:id" in reactions) shown as their images, from the one list per
// community that community_emoji.js keeps; the settings screen forgets it when an emoji changes.

import { h, replace } from '../dom.js';
import { media } from '../content.js';
import { communityEmoji, forgetCommunityEmoji } from './community_emoji.js';

const CUSTOM = /^([A-Za-z0-9_]{2,32}):([0-9a-z]{26})$/;

export function forgetEmoji(communityId) {
  forgetCommunityEmoji(communityId);
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
    communityEmoji(communityId).then((list) => {
      const e = list.find((x) => x.id === m[2]);
      const src = e && (e.url || media.fileUrl(e.media_id));
      if (src) replace(el, h('img', { class: 'custom-emoji', src, alt: '', width: 20, height: 20 }));
    });
  }
  return el;
}
