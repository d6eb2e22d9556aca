// The permission bits (docs/permissions.md) in plain language: ONE table used by the role editor,
// the channel permission editor and the moderation tools, so nobody ever sees a raw bit name.

/** [name, label, what it lets someone do, where it applies]. `channel`: can be set per channel. */
export const PERMISSIONS = [
  ['VIEW_CHANNEL', 'View channels', 'See the channel and who is in it.', 'channel'],
  ['SEND_MESSAGES', 'Send messages', 'Write messages (and posts in forums).', 'channel'],
  ['READ_HISTORY', 'Read message history', 'Read messages sent before they opened the channel.', 'channel'],
  ['ATTACH_FILES', 'Attach files', 'Upload images and files with their messages.', 'channel'],
  ['ADD_REACTIONS', 'Add reactions', 'React to messages with emoji.', 'channel'],
  ['MENTION_EVERYONE', 'Mention @everyone and @here', 'Notify everyone who can see the channel.', 'channel'],
  ['MANAGE_MESSAGES', 'Manage messages', 'Delete and pin other people’s messages; not slowed down by slow mode.', 'channel'],
  ['MANAGE_CHANNELS', 'Manage channels', 'Create, rename and delete channels; change topic and slow mode.', 'channel'],
  ['MANAGE_ROLES', 'Manage roles and permissions', 'Create roles below their own and change channel permissions.', 'channel'],
  ['MANAGE_COMMUNITY', 'Manage community', 'Change the name, icon, rules and visibility; manage invites and emoji.', 'community'],
  ['KICK_MEMBERS', 'Kick members', 'Remove members (they may join again).', 'community'],
  ['BAN_MEMBERS', 'Ban members', 'Remove members for good.', 'community'],
  ['MODERATE_MEMBERS', 'Time out members', 'Let members only read for a while.', 'community'],
  ['CREATE_POSTS', 'Create posts', 'Start posts in forum channels.', 'channel'],
  ['VOTE', 'Vote', 'Up- and down-vote posts and comments.', 'channel'],
  ['CREATE_INVITES', 'Create invites', 'Make invite links.', 'channel'],
  ['VIEW_AUDIT_LOG', 'View the mod log', 'See who changed what.', 'community'],
  ['ADMINISTRATOR', 'Administrator', 'Every permission, in every channel. Give it with care.', 'community'],
  ['MANAGE_WEBHOOKS', 'Manage webhooks', 'Create the secret addresses other apps use to post in a channel.', 'channel'],
  ['MANAGE_EVENTS', 'Manage events', 'Plan, edit and cancel the community’s scheduled events.', 'community'],
];

// Bit positions follow the order of docs/permissions.md (the same order as the table above).
const ORDER = ['VIEW_CHANNEL', 'SEND_MESSAGES', 'READ_HISTORY', 'ATTACH_FILES', 'ADD_REACTIONS', 'MENTION_EVERYONE',
  'MANAGE_MESSAGES', 'MANAGE_CHANNELS', 'MANAGE_ROLES', 'MANAGE_COMMUNITY', 'KICK_MEMBERS', 'BAN_MEMBERS',
  'MODERATE_MEMBERS', 'CREATE_POSTS', 'VOTE', 'CREATE_INVITES', 'VIEW_AUDIT_LOG', 'ADMINISTRATOR',
  'MANAGE_WEBHOOKS', 'MANAGE_EVENTS'];

/** The bit of a permission name, as a BigInt. */
export function bit(name) {
  const i = ORDER.indexOf(name);
  if (i < 0) throw new Error(`unknown permission ${name}`);
  return 1n << BigInt(i);
}

/** The plain-language label of a permission name. */
export function label(name) {
  return (PERMISSIONS.find(([n]) => n === name) || [name, name])[1];
}

/** Whether `perms` (a number or BigInt) holds `name`; ADMINISTRATOR holds everything. */
export function holds(perms, name) {
  const p = BigInt(perms || 0);
  return (p & bit('ADMINISTRATOR')) !== 0n || (p & bit(name)) !== 0n;
}

// The bits that make someone a moderator: the community's tools are offered to holders of any.
const MODERATOR = ['MANAGE_MESSAGES', 'MANAGE_ROLES', 'MANAGE_COMMUNITY', 'KICK_MEMBERS', 'BAN_MEMBERS', 'MODERATE_MEMBERS', 'VIEW_AUDIT_LOG'];

/** Whether the community's moderation tools should be offered at all. */
export function isModerator(perms) {
  return MODERATOR.some((name) => holds(perms, name));
}

/** Whether the community's insights are offered. */
export function canInsights(perms) {
  return holds(perms, 'MANAGE_COMMUNITY');
}

/** The permissions that can be set per channel (for the overwrite editor). */
export const CHANNEL_PERMISSIONS = PERMISSIONS.filter(([, , , where]) => where === 'channel');

/** The labels of the bits set in `perms`, in table order. */
export function labels(perms) {
  const p = BigInt(perms || 0);
  return PERMISSIONS.filter(([n]) => (p & bit(n)) !== 0n).map(([, l]) => l);
}
