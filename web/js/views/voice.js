// Voice channels in the web UI (docs/voice.md): who is in each voice channel under it in the sidebar
// (this module, loaded with the chat page), and the call itself when a voice channel is opened
// (voice_pane.js and the WebRTC side, voice_call.js, loaded then: most visits never open one).

import { h, replace } from '../dom.js';
import { icon } from '../icons.js';
import * as store from '../store.js';
import { avatar } from './shell.js';

const { state } = store;
// channel id -> Map(user id -> voice state), from READY and VOICE_STATE_UPDATE
export const rooms = new Map();
export const live = { pane: null }; // the open VoicePane, if any (voice_pane.js)

function setState(s) {
  for (const room of rooms.values()) room.delete(s.user_id);
  if (s.channel_id) {
    if (!rooms.has(s.channel_id)) rooms.set(s.channel_id, new Map());
    rooms.get(s.channel_id).set(s.user_id, s);
  }
}

/** Wire voice into the shell once its gateway exists (called from Shell.start). */
export function installVoice(shell) {
  // The node ends a call with the socket it was joined on: after a reconnect (a new session, or a
  // resumed one) the call is joined again.
  const rejoin = () => {
    if (!shell.voice?.channelId) return;
    const channelId = shell.voice.channelId;
    shell.voice.teardown();
    shell.voice.join(channelId).catch((err) => live.pane?.problem(err.message));
  };
  shell.gateway.addEventListener('ready', (e) => {
    rooms.clear();
    for (const s of e.detail.voice_states || []) setState(s);
    rejoin();
    shell.renderSidebar();
  });
  shell.gateway.addEventListener('resumed', rejoin);
  shell.gateway.addEventListener('dispatch', (e) => {
    const { t, d } = e.detail;
    if (!t.startsWith('VOICE_')) return;
    if (t === 'VOICE_STATE_UPDATE') setState(d);
    if (t === 'VOICE_READY') for (const s of d.states) setState(s);
    shell.voice?.dispatch(t, d); // a call exists from the moment one is joined (voice_pane.js)
    shell.renderSidebar();
    live.pane?.render();
  });
  store.on('channels', () => live.pane?.render());
  store.on('communities', () => live.pane?.render());
}

/** The sidebar entry of a voice channel, with the members in it. */
export function voiceChannelItem(shell, channel, communityId) {
  const href = `/channels/${communityId}/${channel.id}`;
  const active = state.current.channelId === channel.id;
  const members = [...(rooms.get(channel.id)?.values() || [])];
  return h('li', { class: `channel voice-channel${active ? ' active' : ''}` },
    h('a', {
      href,
      'data-focus-key': channel.id,
      'aria-current': active ? 'page' : undefined,
      'aria-label': `${channel.name} (voice channel${members.length ? `, ${members.length} connected` : ''})`,
      onclick: (e) => { e.preventDefault(); shell.navigate(href); },
    },
    h('span', { class: 'channel-icon', 'aria-hidden': 'true' }, icon('speaker', 18)),
    h('span', { class: 'channel-name' }, channel.name)),
    members.length ? h('ul', { class: 'voice-members', 'aria-label': `In ${channel.name}` }, members.map((s) => memberRow(s))) : null);
}

function memberRow(s) {
  const flags = [s.mute ? 'server muted' : s.self_mute ? 'muted' : '', s.deaf ? 'server deafened' : s.self_deaf ? 'deafened' : '', s.video ? 'camera on' : '', s.screen ? 'sharing screen' : ''].filter(Boolean);
  return h('li', { class: `voice-member${s.speaking ? ' speaking' : ''}`, 'data-user': s.user_id },
    avatar(s.user_id, 'sm'),
    h('span', { class: 'voice-name' }, store.displayName(s.user_id)),
    flags.length ? h('span', { class: 'voice-flags muted' }, flags.join(', ')) : null);
}

/** Open a voice channel in the main pane; false when the channel is not a voice channel. */
export function openVoiceChannel(shell, channelId) {
  const channel = store.channelById(channelId);
  if (!channel || channel.kind !== 'voice') {
    live.pane = null;
    return false;
  }
  shell.chat?.destroy();
  shell.chat = null;
  replace(shell.mainPane, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  import('./voice_pane.js')
    .then((m) => m.openPane(shell, channel))
    .catch((err) => replace(shell.mainPane, h('p', { role: 'alert' }, err.message)));
  return true;
}
