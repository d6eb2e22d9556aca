// The app's state: what the node told us over HTTP and the gateway, and a tiny publish/subscribe so
// views re-render the part that changed.

import { users } from './content.js';

const subscribers = new Map();

export function on(topic, fn) {
  if (!subscribers.has(topic)) subscribers.set(topic, new Set());
  subscribers.get(topic).add(fn);
  return () => subscribers.get(topic).delete(fn);
}

export function emit(topic, data) {
  for (const fn of subscribers.get(topic) || []) {
    try {
      fn(data);
    } catch (err) {
      console.error(`subscriber of ${topic} failed`, err);
    }
  }
}

export const state = {
  me: null,
  communities: new Map(), // id -> CommunityOut
  channels: new Map(), // community id -> ChannelOut[]
  roles: new Map(), // community id -> RoleOut[]
  members: new Map(), // community id -> MemberOut[]
  users: new Map(), // user id -> Profile
  messages: new Map(), // channel id -> {list, byId, hasMore, loading, pending}
  unread: new Map(), // channel id -> {unread, mentions}
  presence: new Map(), // user id -> status
  typing: new Map(), // channel id -> Map(user id -> expires at ms)
  dms: new Map(), // dm channel id -> DmOut
  current: { communityId: null, channelId: null },
  connection: 'idle',
};

export function reset() {
  for (const key of ['communities', 'channels', 'roles', 'members', 'users', 'messages', 'unread', 'presence', 'typing', 'dms']) {
    state[key].clear();
  }
  state.me = null;
  state.current = { communityId: null, channelId: null };
}

// -- users -----------------------------------------------------------------------------------------

const inflight = new Map();
const unreachable = new Map(); // user id -> {wait, timer}

/** A user's profile, fetched once and cached; callers re-render on 'users'. */
export function user(id) {
  const known = state.users.get(id);
  if (known) return known;
  const waiting = unreachable.get(id);
  if (!inflight.has(id) && !waiting?.timer) {
    inflight.set(
      id,
      users.get(id)
        .then((profile) => {
          unreachable.delete(id);
          state.users.set(id, profile);
          emit('users', id);
        })
        .catch((err) => {
          if (err.status !== 0) {
            state.users.set(id, { id, username: 'unknown', display_name: 'Unknown user' });
            emit('users', id);
            return;
          }
          // A network failure: not unknown, so ask again in 1 s, 2 s ... 30 s.
          const wait = Math.min(30000, (waiting?.wait || 500) * 2);
          const next = { wait, timer: null };
          next.timer = setTimeout(() => { next.timer = null; user(id); }, wait);
          unreachable.set(id, next);
        })
        .finally(() => inflight.delete(id)),
    );
  }
  return null;
}

export function displayName(id) {
  const u = user(id);
  if (!u) return '…';
  return u.display_name || u.username;
}

/** A username as typed in a mention: name@home for a user from another node (never just a name a local user may hold). */
export function handleOf(u) {
  return u.home ? `${u.username}@${u.home}` : u.username;
}

// -- channels --------------------------------------------------------------------------------------

export function channelById(id) {
  for (const list of state.channels.values()) {
    const found = list.find((c) => c.id === id);
    if (found) return found;
  }
  return null;
}

export function channelName(id) {
  const c = channelById(id);
  if (c) return `#${c.name}`;
  const dm = state.dms.get(id);
  if (dm) return dmName(dm);
  return '#unknown';
}

export function dmName(dm) {
  if (dm.name) return dm.name;
  const others = dm.participants.filter((p) => p !== state.me?.id);
  return others.map(displayName).join(', ') || 'Just you';
}

export function setChannels(communityId, channels) {
  state.channels.set(communityId, channels);
  emit('channels', communityId);
}

// -- messages --------------------------------------------------------------------------------------

export function bucket(channelId) {
  let b = state.messages.get(channelId);
  if (!b) {
    b = { list: [], byId: new Map(), hasMore: true, loaded: false, loading: false, pending: [] };
    state.messages.set(channelId, b);
  }
  return b;
}

function order(a, b) {
  return a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Merge messages into a channel's list (by id; keeps order); returns the ids that were new. */
export function mergeMessages(channelId, messages) {
  const b = bucket(channelId);
  const added = [];
  for (const m of messages) {
    if (b.byId.has(m.id)) {
      Object.assign(b.byId.get(m.id), m);
    } else {
      b.byId.set(m.id, m);
      b.list.push(m);
      added.push(m.id);
    }
  }
  if (added.length) b.list.sort(order);
  return added;
}

export function removeMessage(channelId, messageId) {
  const b = state.messages.get(channelId);
  if (!b || !b.byId.has(messageId)) return false;
  b.byId.delete(messageId);
  b.list = b.list.filter((m) => m.id !== messageId);
  return true;
}

// -- unread, presence, typing --------------------------------------------------------------------

export function bumpUnread(channelId, mention) {
  const u = state.unread.get(channelId) || { unread: 0, mentions: 0 };
  u.unread += 1;
  if (mention) u.mentions += 1;
  state.unread.set(channelId, u);
  emit('unread', channelId);
}

export function clearUnread(channelId) {
  if (!state.unread.has(channelId)) return;
  state.unread.delete(channelId);
  emit('unread', channelId);
}

export function communityUnread(communityId) {
  let unread = 0;
  let mentions = 0;
  for (const c of state.channels.get(communityId) || []) {
    const u = state.unread.get(c.id);
    if (u) {
      unread += u.unread;
      mentions += u.mentions;
    }
  }
  return { unread, mentions };
}

export function setPresence(userId, status) {
  state.presence.set(userId, status);
  emit('presence', userId);
}

export function typingIn(channelId) {
  const now = Date.now();
  const map = state.typing.get(channelId);
  if (!map) return [];
  for (const [uid, until] of map) if (until < now) map.delete(uid);
  return [...map.keys()];
}

export function startTyping(channelId, userId) {
  if (!state.typing.has(channelId)) state.typing.set(channelId, new Map());
  state.typing.get(channelId).set(userId, Date.now() + 8000);
  emit('typing', channelId);
  setTimeout(() => emit('typing', channelId), 8100);
}

export function stopTyping(channelId, userId) {
  const map = state.typing.get(channelId);
  if (map && map.delete(userId)) emit('typing', channelId);
}

// -- permissions (bit values from docs/permissions.md; the node enforces them, the UI only hides) --

export const PERM = {
  VIEW_CHANNEL: 1n << 0n,
  SEND_MESSAGES: 1n << 1n,
  MANAGE_MESSAGES: 1n << 6n,
  MANAGE_CHANNELS: 1n << 7n,
  CREATE_INVITES: 1n << 15n,
  ADMINISTRATOR: 1n << 17n,
};

export function can(perms, bit) {
  const p = BigInt(perms || 0);
  return (p & PERM.ADMINISTRATOR) !== 0n || (p & bit) !== 0n;
}
