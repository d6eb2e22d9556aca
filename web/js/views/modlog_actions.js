// The mod log's actions in plain words; the node's action name stays in the cell's title.

const WORDS = {
  community_update: 'Edited the community',
  transfer: 'Transferred ownership',
  kick: 'Removed from the community',
  ban: 'Banned',
  unban: 'Lifted a ban',
  timeout: 'Timed out',
  timeout_remove: 'Ended a timeout',
  invite_revoke: 'Revoked an invite',
  role_create: 'Created a role',
  role_update: 'Changed a role',
  role_delete: 'Deleted a role',
  role_assign: 'Gave a role',
  role_unassign: 'Took a role away',
  channel_create: 'Created a channel',
  channel_update: 'Changed a channel',
  channel_delete: 'Deleted a channel',
  channel_reorder: 'Reordered channels',
  overwrite_set: 'Set channel permissions',
  overwrite_delete: 'Reset channel permissions',
  automod_set: 'Saved an automod rule',
  automod_delete: 'Deleted an automod rule',
  automod_block: 'Automod blocked a message',
  automod_flag: 'Automod flagged a message',
  automod_timeout: 'Automod timed out',
  message_remove: 'Removed a message',
  message_approve: 'Restored a message',
  post_remove: 'Removed a post',
  post_approve: 'Restored a post',
  comment_remove: 'Removed a comment',
  comment_approve: 'Restored a comment',
};

/** "Timed out" for "timeout"; an action this page does not know yet reads as its words. */
export function actionText(action) {
  if (WORDS[action]) return WORDS[action];
  const words = String(action).replace(/[._]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
