// A community's custom emoji changed (EMOJI_CREATE, EMOJI_UPDATE, EMOJI_DELETE): forget its list
// and redraw what shows them in the open channel (messages and reaction chips), so a new emoji
// draws, a renamed one reads by its new name and a deleted one falls back to its :name: text.

import * as store from '../store.js';
import { forgetCommunityEmoji } from './community_emoji.js';

const { state } = store;

export function emojiChanged(shell, d) {
  forgetCommunityEmoji(d.community_id);
  store.emit('emoji', d);
  const chat = shell.chat;
  if (!chat?.bucket || chat.dm || state.current.communityId !== d.community_id) return;
  const ids = [...chat.bucket.byId.keys()];
  if (ids.length) store.emit('messages', { channelId: chat.channelId, updated: ids });
}
