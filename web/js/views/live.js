// Gateway dispatches -> state changes -> the views that show them.

import { h } from '../dom.js';
import * as store from '../store.js';
import { pollUpdate } from './polls.js';

// Custom emoji change rarely: their handler loads with the first such event (not on first load).
const emojiChanged = (shell, d) => import('./emoji_live.js').then((m) => m.emojiChanged(shell, d));
// So do slash-command answers (slash.js is loaded by the composer anyway; this keeps live.js light).
const interactionDispatch = (shell, t, d) => import('./slash.js').then((m) => m.interactionDispatch(shell, t, d));

const { state } = store;

function mentionsMe(m) {
  const me = state.me?.id;
  return !!me && ((m.mentions || []).includes(me) || m.mention_everyone);
}

const handlers = {
  INTERACTION_RESPONSE: (shell, d) => interactionDispatch(shell, 'INTERACTION_RESPONSE', d),
  INTERACTION_FAILED: (shell, d) => interactionDispatch(shell, 'INTERACTION_FAILED', d),
  MESSAGE_CREATE(shell, m) {
    store.stopTyping(m.channel_id, m.author_id);
    noticeMember(m.community_id, m.author_id);
    if (m.community_id === null && !state.dms.has(m.channel_id)) {
      // A DM we have not seen yet: fetch the list so it shows up in the sidebar.
      shell.loadLists().catch(() => {});
    }
    const open = shell.chat && shell.chat.channelId === m.channel_id;
    if (state.messages.has(m.channel_id) || open) {
      store.mergeMessages(m.channel_id, [m]);
      store.emit('messages', { channelId: m.channel_id, added: [m.id] });
    }
    // A thread reply is not unread in the channel (READY's read states count the channel's own history).
    if (m.thread_id) return;
    if (m.author_id !== state.me?.id && (!open || document.hidden)) store.bumpUnread(m.channel_id, mentionsMe(m));
    else if (open) shell.chat.ack();
  },
  MESSAGE_UPDATE(shell, m) {
    if (!state.messages.has(m.channel_id)) return;
    store.mergeMessages(m.channel_id, [m]);
    store.emit('messages', { channelId: m.channel_id, updated: [m.id] });
  },
  MESSAGE_DELETE(shell, d) {
    if (store.removeMessage(d.channel_id, d.id)) store.emit('messages', { channelId: d.channel_id, removed: [d.id] });
    threadCount(d);
  },
  REACTION_ADD(shell, d) {
    if (d.target_type === 'message') reaction(d, +1);
  },
  REACTION_REMOVE(shell, d) {
    if (d.target_type === 'message') reaction(d, -1);
  },
  CONTENT_MODERATE(shell, d) {
    if (d.target_type !== 'message') return;
    threadCount(d);
    const m = state.messages.get(d.channel_id)?.byId.get(d.id);
    if (!m) return;
    if (d.field === 'pinned') m.pinned = d.value;
    if (d.field === 'hidden') m.removed = d.value;
    if (d.field === 'hidden' && d.value) {
      store.removeMessage(d.channel_id, d.id);
      store.emit('messages', { channelId: d.channel_id, removed: [d.id] });
      return;
    }
    store.emit('messages', { channelId: d.channel_id, updated: [d.id] });
  },
  POLL_UPDATE(shell, d) {
    pollUpdate(d);
  },
  TYPING_START(shell, d) {
    if (d.user_id !== state.me?.id) store.startTyping(d.channel_id, d.user_id);
  },
  PRESENCE_UPDATE(shell, d) {
    // One frame per community with the changes gathered since the last (docs/gateway.md).
    for (const p of d.presences) {
      store.setPresence(p.user_id, p.status);
      noticeMember(d.community_id, p.user_id);
    }
  },
  CHANNEL_CREATE(shell, c) {
    channelChanged(c);
  },
  CHANNEL_UPDATE(shell, c) {
    channelChanged(c);
  },
  CHANNEL_DELETE(shell, c) {
    // Deleted, or hidden from us now (the node sends only the id then).
    const list = state.channels.get(c.community_id);
    if (list) store.setChannels(c.community_id, list.filter((x) => x.id !== c.id));
    if (shell.chat?.channelId === c.id) channelGone(shell, c.community_id);
  },
  CHANNELS_UPDATE(shell, d) {
    // Our whole channel list in a community after a change that can touch any of it (roles, order,
    // our own timeout), each with our permissions.
    if (JSON.stringify(state.channels.get(d.community_id)) !== JSON.stringify(d.channels)) store.setChannels(d.community_id, d.channels);
    const open = shell.chat?.channelId;
    if (state.current.communityId === d.community_id && open && !open.startsWith('@') && !d.channels.some((c) => c.id === open)) {
      channelGone(shell, d.community_id);
    }
  },
  COMMUNITY_UPDATE(shell, c) {
    if (state.communities.has(c.id)) {
      state.communities.set(c.id, { ...state.communities.get(c.id), ...c });
      store.emit('communities');
    }
  },
  COMMUNITY_MEMBER_ADD(shell, d) {
    store.emit('members', d.community_id);
  },
  COMMUNITY_MEMBER_UPDATE(shell, d) {
    const community = state.communities.get(d.community_id);
    if (d.user_id === state.me?.id && community) {
      // Our own timeout (or its end): the composer says until when.
      community.timeout_until = d.timeout_until && d.timeout_until > Date.now() ? d.timeout_until : null;
      store.emit('communities');
    }
    store.emit('members', d.community_id);
  },
  COMMUNITY_MEMBER_REMOVE(shell, d) {
    if (d.user_id === state.me?.id) {
      state.communities.delete(d.community_id);
      store.emit('communities');
      if (state.current.communityId === d.community_id) shell.navigate('/channels/@me');
      return;
    }
    store.emit('members', d.community_id);
  },
  // The inbox badge follows the node's pushes (inbox.js listens), no polling.
  NOTIFICATION_CREATE(shell, n) {
    store.emit('notification-created', n);
  },
  NOTIFICATION_READ(shell, d) {
    store.emit('notification-read', d);
  },
  EMOJI_CREATE: emojiChanged,
  EMOJI_UPDATE: emojiChanged,
  EMOJI_DELETE: emojiChanged,
  DM_CREATE(shell, dm) {
    state.dms.set(dm.id, dm);
    shell.renderSidebar();
    shell.renderRail();
  },
};

/** The open channel was deleted or hidden from us: say so, with a way back to the community. */
function channelGone(shell, communityId) {
  shell.showProblem('This channel was removed, or you no longer have access to it.');
  const first = (state.channels.get(communityId) || []).find((c) => c.kind === 'text' || c.kind === 'announcement');
  if (first) shell.mainPane.querySelector('section.home')?.append(h('p', null, h('a', { href: `/channels/${communityId}/${first.id}`, onclick: (e) => { e.preventDefault(); shell.navigate(`/channels/${communityId}/${first.id}`); } }, `Go to #${first.name}`)));
}

/** Someone we have not listed yet is active in a community: they joined, so refresh its members. */
function noticeMember(communityId, userId) {
  const members = communityId && state.members.get(communityId);
  if (members && !members.some((m) => m.user_id === userId)) store.emit('members', communityId);
}

/** A thread reply went away (or came back): its root's "N replies" takes the node's count. */
function threadCount(d) {
  const root = d.thread_id && state.messages.get(d.channel_id)?.byId.get(d.thread_id);
  if (!root || typeof d.thread_count !== 'number' || root.thread_count === d.thread_count) return;
  root.thread_count = d.thread_count;
  store.emit('messages', { channelId: d.channel_id, updated: [root.id] });
}

function reaction(d, delta) {
  const b = state.messages.get(d.channel_id);
  const m = b && b.byId.get(d.target_id);
  if (!m) return;
  const list = (m.reactions || []).map((r) => ({ ...r }));
  let r = list.find((x) => x.emoji === d.emoji);
  if (!r) {
    r = { emoji: d.emoji, count: 0, me: false };
    list.push(r);
  }
  r.count = typeof d.count === 'number' ? d.count : Math.max(0, r.count + delta);
  if (d.user_id === state.me?.id) r.me = delta > 0;
  m.reactions = list.filter((x) => x.count > 0);
  store.emit('messages', { channelId: d.channel_id, updated: [m.id] });
}

function channelChanged(c) {
  const list = state.channels.get(c.community_id);
  if (!list) return;
  const i = list.findIndex((x) => x.id === c.id);
  if (i >= 0) {
    const merged = { ...list[i], ...c };
    // Nothing new (e.g. the channel we just made, already listed): no re-render under the pointer.
    if (JSON.stringify(merged) === JSON.stringify(list[i])) return;
    list[i] = merged;
  } else list.push(c);
  store.setChannels(c.community_id, list);
}

export function handleDispatch(shell, { t, d }) {
  const fn = handlers[t];
  if (fn) fn(shell, d);
}
