// The route table (issue 23): every API path the UI calls is built here, by area, parameters
// encoded; views call R.<area>.<name>(...). Terse: it is on the first screen. docs/webui-routes.md

import { api, del, get, patch, post, put, q } from './api.js';

const enc = encodeURIComponent;
const V1 = '/api/v1';
const ME = `${V1}/users/@me`;
const U = (id) => `${V1}/users/${enc(id)}`;
const CO = (id) => `${V1}/communities/${enc(id)}`;
const CH = (id) => `${V1}/channels/${enc(id)}`;
const INV = (code) => `${V1}/invites/${enc(code)}`;
const PO = (id) => `${V1}/posts/${enc(id)}`;
const ADMIN = `${V1}/admin`;
const NOTE = `${V1}/notifications`;
const open = (method, path, body) => api(method, path, body, { auth: false });

export const auth = {
  registration: () => open('GET', `${V1}/auth/registration`),
  verifyEmail: (body) => open('POST', `${V1}/auth/verify-email`, body),
  passwordReset: (body) => open('POST', `${V1}/auth/password-reset`, body),
  passwordResetConfirm: (body) => open('POST', `${V1}/auth/password-reset/confirm`, body),
  oauthProviders: () => open('GET', `${V1}/auth/oauth`),
  oauthLoginUrl: (provider) => `${V1}/auth/oauth/${enc(provider)}/login`,
};

export const me = {
  get: () => get(ME),
  update: (body) => patch(ME, body),
  remove: (body) => del(ME, body),
  verifyEmail: () => post(`${ME}/email/verify`),
  changePassword: (body) => post(`${ME}/password`, body),
  sessions: () => get(`${ME}/sessions`),
  endSession: (id) => del(`${ME}/sessions/${enc(id)}`),
  totpEnrol: (body) => post(`${ME}/totp/enrol`, body),
  totpConfirm: (body) => post(`${ME}/totp/confirm`, body),
  totpDisable: (body) => post(`${ME}/totp/disable`, body),
  dataExport: () => get(`${ME}/export`),
  startDataExport: () => post(`${ME}/export`),
  relationships: () => get(`${ME}/relationships`),
  befriend: (id) => api('PUT', `${ME}/friends/${enc(id)}`),
  unfriend: (id) => api('DELETE', `${ME}/friends/${enc(id)}`),
  block: (id) => api('PUT', `${ME}/blocks/${enc(id)}`),
  unblock: (id) => api('DELETE', `${ME}/blocks/${enc(id)}`),
};

export const users = {
  get: (id) => get(U(id)),
  byName: (name) => get(`${V1}/users/by-name/${enc(name)}`),
};

export const communities = {
  mine: () => get(`${V1}/communities${q({ mine: true, limit: 200 })}`),
  browse: () => get(`${V1}/communities${q({ limit: 50 })}`),
  create: (body) => post(`${V1}/communities`, body),
  get: (id) => get(CO(id)),
  update: (id, body) => patch(CO(id), body),
  join: (id) => put(`${CO(id)}/members/@me`, {}),
  leave: (id) => del(`${CO(id)}/members/@me`),
  channels: (id) => get(`${CO(id)}/channels`),
  createChannel: (id, body) => post(`${CO(id)}/channels`, body),
  members: (id) => get(`${CO(id)}/members${q({ limit: 200 })}`),
  member: (id, userId) => get(`${CO(id)}/members/${enc(userId)}`),
  roles: (id) => get(`${CO(id)}/roles`),
  createRole: (id, body) => post(`${CO(id)}/roles`, body),
  updateRole: (id, roleId, body) => patch(`${CO(id)}/roles/${enc(roleId)}`, body),
  removeRole: (id, roleId) => del(`${CO(id)}/roles/${enc(roleId)}`),
  invites: (id) => get(`${CO(id)}/invites`),
  createInvite: (id, body) => post(`${CO(id)}/invites`, body),
  emojis: (id) => get(`${CO(id)}/emojis`),
  addEmoji: (id, body) => post(`${CO(id)}/emojis`, body),
  renameEmoji: (id, emojiId, body) => patch(`${CO(id)}/emojis/${enc(emojiId)}`, body),
  removeEmoji: (id, emojiId) => del(`${CO(id)}/emojis/${enc(emojiId)}`),
  commands: (id) => get(`${CO(id)}/commands`),
  analytics: (id) => get(`${CO(id)}/analytics`),
  integrations: (id) => get(`${CO(id)}/integrations`),
  setIntegrations: (id, body) => put(`${CO(id)}/integrations`, body),
  webhooks: (id) => get(`${CO(id)}/webhooks`),
  onboarding: (id) => get(`${CO(id)}/onboarding`),
  setOnboarding: (id, body) => put(`${CO(id)}/onboarding`, body),
  acceptRules: (id, body) => post(`${CO(id)}/onboarding/accept`, body),
  takeSelfRole: (id, roleId) => put(`${CO(id)}/members/@me/self-roles/${enc(roleId)}`),
  dropSelfRole: (id, roleId) => del(`${CO(id)}/members/@me/self-roles/${enc(roleId)}`),
  addBot: (id, botId) => put(`${CO(id)}/bots/${enc(botId)}`),
  invite: (code) => get(INV(code)),
  acceptInvite: (code) => post(INV(code)),
  revokeInvite: (code) => del(INV(code)),
};

export const moderation = {
  reports: (id, params) => get(`${CO(id)}/reports${q(params)}`),
  report: (id, body) => post(`${CO(id)}/reports`, body),
  updateReport: (id, reportId, body) => patch(`${CO(id)}/reports/${enc(reportId)}`, body),
  addMemberRole: (id, userId, roleId) => put(`${CO(id)}/members/${enc(userId)}/roles/${enc(roleId)}`, {}),
  removeMemberRole: (id, userId, roleId) => del(`${CO(id)}/members/${enc(userId)}/roles/${enc(roleId)}`),
  timeout: (id, userId, body) => put(`${CO(id)}/members/${enc(userId)}/timeout`, body),
  kick: (id, userId, body) => post(`${CO(id)}/members/${enc(userId)}/kick`, body),
  ban: (id, userId, body) => put(`${CO(id)}/bans/${enc(userId)}`, body),
  automodRules: (id) => get(`${CO(id)}/automod/rules`),
  addAutomodRule: (id, body) => post(`${CO(id)}/automod/rules`, body),
  removeAutomodRule: (id, ruleId) => del(`${CO(id)}/automod/rules/${enc(ruleId)}`),
  modlog: (id, params) => get(`${CO(id)}/modlog${q(params)}`),
  act: (type, id, body) => post(`${V1}/${enc(type)}s/${enc(id)}/moderation`, body),
};

export const channels = {
  get: (id) => get(CH(id)),
  update: (id, body) => patch(CH(id), body),
  remove: (id) => del(CH(id)),
  setOverwrite: (id, type, targetId, body) => put(`${CH(id)}/overwrites/${enc(type)}/${enc(targetId)}`, body),
  removeOverwrite: (id, type, targetId) => del(`${CH(id)}/overwrites/${enc(type)}/${enc(targetId)}`),
  permissions: (id, userId) => get(`${CH(id)}/permissions?user_id=${enc(userId)}`),
  threads: (id) => get(`${CH(id)}/threads?limit=50`),
  createWebhook: (id, body) => post(`${CH(id)}/webhooks`, body),
  interact: (id, body) => post(`${CH(id)}/interactions`, body),
  tags: (id) => get(`${CH(id)}/tags`),
  setTags: (id, body) => put(`${CH(id)}/tags`, body),
};

export const messages = {
  list: (channelId, params) => get(`${CH(channelId)}/messages${q(params)}`),
  send: (channelId, body) => post(`${CH(channelId)}/messages`, body),
  edit: (channelId, id, content) => patch(`${CH(channelId)}/messages/${enc(id)}`, { content }),
  remove: (channelId, id) => del(`${CH(channelId)}/messages/${enc(id)}`),
  react: (channelId, id, emoji) => put(`${V1}/messages/${enc(id)}/reactions/${enc(emoji)}`),
  unreact: (channelId, id, emoji) => del(`${V1}/messages/${enc(id)}/reactions/${enc(emoji)}`),
  pins: (channelId) => get(`${CH(channelId)}/pins`),
  pin: (channelId, id) => put(`${CH(channelId)}/pins/${enc(id)}`),
  unpin: (channelId, id) => del(`${CH(channelId)}/pins/${enc(id)}`),
  ack: (channelId, id) => post(`${CH(channelId)}/messages/${enc(id)}/ack`),
  forward: (channelId, id, body) => post(`${CH(channelId)}/messages/${enc(id)}/forward`, body),
  embeds: (channelId, ids) => get(`${CH(channelId)}/embeds?ids=${ids.map(enc).join(',')}&wait=true`),
  suppressEmbeds: (channelId, id) => put(`${CH(channelId)}/embeds/${enc(id)}/suppressed`, {}),
  unsuppressEmbeds: (channelId, id) => del(`${CH(channelId)}/embeds/${enc(id)}/suppressed`),
};

export const dms = {
  list: () => get(`${V1}/dms`),
  open: (recipients) => post(`${V1}/dms`, { recipients }),
};

export const forum = {
  posts: (channelId, params) => get(`${CH(channelId)}/posts${q(params)}`),
  createPost: (channelId, body) => post(`${CH(channelId)}/posts`, body),
  post: (id) => get(PO(id)),
  comments: (postId, params) => get(`${PO(postId)}/comments${q(params)}`),
  addComment: (postId, body) => post(`${PO(postId)}/comments`, body),
  comment: (id) => get(`${V1}/comments/${enc(id)}`),
  edit: (kind, id, body) => patch(`${V1}/${enc(kind)}/${enc(id)}`, body),
  remove: (kind, id) => del(`${V1}/${enc(kind)}/${enc(id)}`),
  vote: (kind, id, body) => put(`${V1}/${enc(kind)}/${enc(id)}/vote`, body),
};

export const markdown = {
  preview: (body) => post(`${V1}/markdown/preview`, body),
};

export const media = {
  uploadUrl: () => `${V1}/media`,
  get: (id) => get(`${V1}/media/${enc(id)}`),
  remove: (id) => del(`${V1}/media/${enc(id)}`),
  fileUrl: (id, variant = 'original') => `/media/${enc(id)}/${enc(variant)}`,
};

export const search = {
  query: (params) => get(`${V1}/search${q(params)}`),
  click: (body) => post(`${V1}/search/clicks`, body),
};

export const notifications = {
  list: () => get(`${NOTE}?limit=50`),
  unread: () => get(`${NOTE}/unread`),
  read: (id) => post(`${NOTE}/${enc(id)}/read`),
  readAll: () => post(`${NOTE}/read`, {}),
  dismiss: (id) => del(`${NOTE}/${enc(id)}`),
  preferences: () => get(`${NOTE}/preferences`),
  setPreferences: (body) => patch(`${NOTE}/preferences`, body),
  level: (kind, id) => get(`${NOTE}/preferences/${enc(kind)}/${enc(id)}`),
  setLevel: (kind, id, body) => put(`${NOTE}/preferences/${enc(kind)}/${enc(id)}`, body),
  clearLevel: (kind, id) => del(`${NOTE}/preferences/${enc(kind)}/${enc(id)}`),
  vapidKey: () => get(`${NOTE}/push/vapid-key`),
  subscribePush: (body) => post(`${NOTE}/push/subscriptions`, body),
};

export const events = {
  list: (communityId) => get(`${CO(communityId)}/events`),
  create: (communityId, body) => post(`${CO(communityId)}/events`, body),
  update: (id, body) => patch(`${V1}/scheduled-events/${enc(id)}`, body),
  rsvp: (id, body) => put(`${V1}/scheduled-events/${enc(id)}/rsvp`, body),
  cancel: (id) => post(`${V1}/scheduled-events/${enc(id)}/cancel`),
  feedUrl: (communityId) => `${CO(communityId)}/events.ics`,
};

export const polls = {
  byIds: (ids) => get(`${V1}/polls?ids=${ids.map(enc).join(',')}`),
  vote: (id, body) => put(`${V1}/polls/${enc(id)}/vote`, body),
  end: (id) => post(`${V1}/polls/${enc(id)}/end`),
};

export const saved = {
  list: (before) => get(`${V1}/saved?limit=50${before ? `&before=${enc(before)}` : ''}`),
  get: (type, id) => get(`${V1}/saved/${enc(type)}/${enc(id)}`),
  save: (type, id) => put(`${V1}/saved/${enc(type)}/${enc(id)}`),
  unsave: (type, id) => del(`${V1}/saved/${enc(type)}/${enc(id)}`),
};

export const reports = {
  create: (body) => post(`${V1}/reports`, body),
};

export const tokens = {
  list: () => get(`${V1}/tokens`),
  create: (body) => post(`${V1}/tokens`, body),
  revoke: (id) => del(`${V1}/tokens/${enc(id)}`),
};

export const bots = {
  list: () => get(`${V1}/bots`),
  create: (body) => post(`${V1}/bots`, body),
  remove: (id) => del(`${V1}/bots/${enc(id)}`),
};

export const webhooks = {
  update: (id, body) => patch(`${V1}/webhooks/${enc(id)}`, body),
  resetToken: (id) => post(`${V1}/webhooks/${enc(id)}/token`),
  remove: (id) => del(`${V1}/webhooks/${enc(id)}`),
};

export const eventWebhooks = {
  list: (communityId) => get(`${V1}/event-webhooks?community_id=${enc(communityId)}`),
  create: (body) => post(`${V1}/event-webhooks`, body),
  remove: (id) => del(`${V1}/event-webhooks/${enc(id)}`),
};

export const voice = {
  updateMember: (channelId, userId, body) => patch(`${CH(channelId)}/voice/members/${enc(userId)}`, body),
  disconnect: (channelId, userId) => del(`${CH(channelId)}/voice/members/${enc(userId)}`, {}),
};

export const node = {
  info: () => get(`${V1}/node`),
  readiness: () => fetch('/readyz', { headers: { Accept: 'application/json' } }).then((r) => r.json()),
  analytics: () => get(`${V1}/analytics/node`),
};

export const admin = {
  users: (params) => get(`${ADMIN}/users${q(params)}`),
  user: (id) => get(`${ADMIN}/users/${enc(id)}`),
  createUser: (body) => post(`${ADMIN}/users`, body),
  updateUser: (id, body) => patch(`${ADMIN}/users/${enc(id)}`, body),
  signOutUser: (id) => post(`${ADMIN}/users/${enc(id)}/sign-out`),
  purgeUserContent: (id, body) => post(`${ADMIN}/users/${enc(id)}/purge-content`, body),
  eraseUser: (id, body) => del(`${ADMIN}/users/${enc(id)}`, body),
  applications: () => get(`${ADMIN}/applications`),
  decideApplication: (userId, verb, body) => api('POST', `${ADMIN}/applications/${enc(userId)}/${enc(verb)}`, body),
  registrationTokens: () => get(`${ADMIN}/registration-tokens`),
  createRegistrationToken: (body) => post(`${ADMIN}/registration-tokens`, body),
  revokeRegistrationToken: (id) => del(`${ADMIN}/registration-tokens/${enc(id)}`),
  reports: (params) => get(`${ADMIN}/reports${q(params)}`),
  updateReport: (id, body) => patch(`${ADMIN}/reports/${enc(id)}`, body),
  media: (params) => get(`${ADMIN}/media${q(params)}`),
  takeDown: (id, body) => post(`${ADMIN}/media/${enc(id)}/takedown`, body),
  blocklist: () => get(`${ADMIN}/media/blocklist?limit=500`),
  addToBlocklist: (body) => post(`${ADMIN}/media/blocklist`, body),
  removeFromBlocklist: (sha256) => del(`${ADMIN}/media/blocklist/${enc(sha256)}`),
  bans: () => get(`${ADMIN}/bans`),
  ban: (body) => post(`${ADMIN}/bans`, body),
  unban: (id) => del(`${ADMIN}/bans/${enc(id)}`),
  peers: () => get(`${ADMIN}/peers`),
  backups: () => get(`${ADMIN}/backups`),
  audit: (params) => get(`${ADMIN}/audit${q(params)}`),
  dbTables: () => get(`${ADMIN}/db/tables`),
  dbQuery: (body) => post(`${ADMIN}/db/query`, body),
  dbExportUrl: (params) => `${ADMIN}/db/export${q(params)}`,
};
