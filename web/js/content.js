// The node's content and community routes the UI uses, in one place.

import { del, get, patch, post, put, q } from './api.js';

const enc = encodeURIComponent;
const CH = (id) => `/api/v1/channels/${enc(id)}`;
const CO = (id) => `/api/v1/communities/${enc(id)}`;

export const communities = {
  mine: () => get(`/api/v1/communities${q({ mine: true, limit: 200 })}`),
  browse: () => get(`/api/v1/communities${q({ limit: 50 })}`),
  create: (body) => post('/api/v1/communities', body),
  get: (id) => get(CO(id)),
  join: (id) => put(`${CO(id)}/members/@me`, {}),
  leave: (id) => del(`${CO(id)}/members/@me`),
  channels: (id) => get(`${CO(id)}/channels`),
  createChannel: (id, body) => post(`${CO(id)}/channels`, body),
  members: (id) => get(`${CO(id)}/members${q({ limit: 200 })}`),
  roles: (id) => get(`${CO(id)}/roles`),
  createInvite: (id, body) => post(`${CO(id)}/invites`, body),
  invite: (code) => get(`/api/v1/invites/${enc(code)}`),
  acceptInvite: (code) => post(`/api/v1/invites/${enc(code)}`),
};

export const messages = {
  list: (channelId, params) => get(`${CH(channelId)}/messages${q(params)}`),
  send: (channelId, body) => post(`${CH(channelId)}/messages`, body),
  edit: (channelId, id, content) => patch(`${CH(channelId)}/messages/${enc(id)}`, { content }),
  remove: (channelId, id) => del(`${CH(channelId)}/messages/${enc(id)}`),
  react: (channelId, id, emoji) => put(`/api/v1/messages/${enc(id)}/reactions/${enc(emoji)}`),
  unreact: (channelId, id, emoji) => del(`/api/v1/messages/${enc(id)}/reactions/${enc(emoji)}`),
  pins: (channelId) => get(`${CH(channelId)}/pins`),
  pin: (channelId, id) => put(`${CH(channelId)}/pins/${enc(id)}`),
  unpin: (channelId, id) => del(`${CH(channelId)}/pins/${enc(id)}`),
  ack: (channelId, id) => post(`${CH(channelId)}/messages/${enc(id)}/ack`),
};

export const dms = {
  list: () => get('/api/v1/dms'),
  open: (recipients) => post('/api/v1/dms', { recipients }),
};
