// A voice channel's call in the main pane: join/leave, mute, deafen, push-to-talk, input and output
// devices, camera and screen share, a video grid with speaking indicators, and the moderation
// buttons a member's permissions allow. Loaded when a voice channel is first opened (voice.js).

import * as R from '../content.js';
import { announce, h, replace } from '../dom.js';
import { icon } from '../icons.js';
import { holds } from '../perms.js';
import * as store from '../store.js';
import { VoiceCall } from '../voice_call.js';
import { avatar } from './shell.js';
import { live, rooms } from './voice.js';

const { state } = store;

/** The shell's call, made on first use (it lives as long as the page). */
export function ensureCall(shell) {
  if (!shell.voice && state.me) {
    shell.voice = new VoiceCall(shell.gateway, state.me.id);
    shell.voice.addEventListener('change', () => { shell.renderSidebar(); live.pane?.render(); });
    shell.voice.addEventListener('error', (e) => live.pane?.problem(e.detail));
    shell.voice.addEventListener('disconnected', (e) => {
      const text = e.detail.reason === 'left' ? '' : `You were disconnected from voice (${e.detail.reason}).`;
      live.pane?.problem(text);
      if (text) announce(text); // also when the channel itself is gone from view (a ban)
    });
    window.__voice = shell.voice; // for the browser tests' getStats()
  }
  return shell.voice;
}

/** Show ``channel``'s call in the main pane, unless the member has moved on meanwhile. */
export function openPane(shell, channel) {
  if (state.current.channelId !== channel.id) return;
  ensureCall(shell);
  live.pane = new VoicePane(shell, channel);
  replace(shell.mainPane, live.pane.el);
  live.pane.render();
}

class VoicePane {
  constructor(shell, channel) {
    this.shell = shell;
    this.channel = channel;
    this.tiles = new Map(); // user id -> { el, video }
    this.alert = h('p', { class: 'voice-problem', role: 'alert' });
    this.controls = h('div', { class: 'voice-controls', role: 'toolbar', 'aria-label': 'Call controls' });
    this.grid = h('div', { class: 'voice-grid', 'aria-label': 'Participants' });
    this.settings = h('details', { class: 'voice-settings' }, h('summary', null, 'Voice settings'));
    this.el = h('section', { class: 'voice-pane', 'aria-label': `Voice channel ${channel.name}` },
      shell.header(h('span', { class: 'channel-icon', 'aria-hidden': 'true' }, icon('speaker', 20)), h('h2', { class: 'channel-title' }, channel.name)),
      this.alert, this.grid, this.controls, this.settings);
    this.buildSettings();
  }

  get call() {
    return this.shell.voice;
  }

  get inCall() {
    return this.call?.channelId === this.channel.id;
  }

  problem(text) {
    this.alert.textContent = text || '';
  }

  button(label, iconName, onclick, pressed) {
    return h('button', { class: `voice-btn${pressed ? ' on' : ''}`, 'aria-label': label, title: label, 'aria-pressed': pressed === undefined ? undefined : String(!!pressed), onclick }, icon(iconName, 18), h('span', null, label));
  }

  render() {
    if (!this.el.isConnected) {
      if (live.pane === this) live.pane = null;
      return;
    }
    const call = this.call;
    const now = store.channelById(this.channel.id);
    if (!now) { // deleted, or hidden from us now (a ban): nothing of it stays on screen
      replace(this.grid, h('p', { role: 'alert' }, 'This channel was removed, or you no longer have access to it.'));
      replace(this.controls);
      return;
    }
    this.channel = now;
    const perms = this.channel.perms || 0;
    const canConnect = holds(perms, 'CONNECT');
    if (!this.inCall) {
      replace(this.controls, canConnect
        ? this.button('Join voice', 'speaker', () => { this.problem(''); call.join(this.channel.id).catch((err) => this.problem(`Could not open the microphone: ${err.message}`)); })
        : h('p', { class: 'muted' }, 'You may not connect to this voice channel.'));
    } else {
      const mine = call.mine || {};
      replace(this.controls,
        this.button(call.selfMute ? 'Unmute' : 'Mute', 'mic', () => call.setSelf({ mute: !call.selfMute }), call.selfMute),
        this.button(call.selfDeaf ? 'Undeafen' : 'Deafen', 'headphones', () => call.setSelf({ deaf: !call.selfDeaf }), call.selfDeaf),
        holds(perms, 'VIDEO') ? this.button('Camera', 'camera', () => call.setVideo(call.videoKind === 'video' ? null : 'video').catch((err) => this.problem(err.message)), call.videoKind === 'video') : null,
        holds(perms, 'VIDEO') ? this.button('Share screen', 'screen', () => call.setVideo(call.videoKind === 'screen' ? null : 'screen').catch((err) => this.problem(err.message)), call.videoKind === 'screen') : null,
        this.button('Leave', 'signout', () => call.leave()),
        mine.mute ? h('span', { class: 'muted' }, 'A moderator muted you.') : mine.suppress ? h('span', { class: 'muted' }, 'You may listen but not speak here.') : null,
        call.pushToTalk ? h('span', { class: 'muted ptt-hint' }, call.keyHeld ? 'Talking…' : `Hold ${call.pushToTalk} to talk`) : null);
    }
    this.renderGrid();
  }

  renderGrid() {
    const call = this.call;
    const states = [...(rooms.get(this.channel.id)?.values() || [])];
    const seen = new Set();
    for (const s of states) {
      seen.add(s.user_id);
      let tile = this.tiles.get(s.user_id);
      if (!tile) {
        tile = { video: h('video', { autoplay: true, playsinline: true, muted: true }), el: h('figure', { class: 'voice-tile', 'data-user': s.user_id }) };
        this.tiles.set(s.user_id, tile);
      }
      const me = s.user_id === state.me?.id;
      const stream = me ? call?.video : call?.peers.get(s.user_id)?.stream;
      const hasVideo = (s.video || s.screen) && stream && stream.getVideoTracks().some((t) => t.readyState === 'live');
      if (hasVideo && tile.video.srcObject !== stream) tile.video.srcObject = stream;
      tile.el.classList.toggle('speaking', !!s.speaking);
      const label = `${store.displayName(s.user_id)}${me ? ' (you)' : ''}`;
      replace(tile.el,
        hasVideo ? tile.video : avatar(s.user_id, 'lg'),
        h('figcaption', null, label, s.mute || s.self_mute ? h('span', { class: 'voice-flags' }, ' · muted') : null),
        me || !this.inCall ? null : this.modButtons(s));
      tile.el.setAttribute('aria-label', `${label}${s.speaking ? ', speaking' : ''}`);
    }
    for (const [id] of this.tiles) if (!seen.has(id)) this.tiles.delete(id);
    const tiles = states.map((s) => this.tiles.get(s.user_id).el);
    replace(this.grid, tiles.length ? tiles : h('p', { class: 'muted' }, 'Nobody is here yet.'));
  }

  modButtons(s) {
    const perms = this.channel.perms || 0;
    const [channelId, userId] = [this.channel.id, s.user_id];
    const act = (fn) => () => fn().catch((err) => this.problem(err.message));
    const out = [];
    if (holds(perms, 'MUTE_MEMBERS')) out.push(h('button', { class: 'link-btn', onclick: act(() => R.voice.updateMember(channelId, userId, { mute: !s.mute })) }, s.mute ? 'Server unmute' : 'Server mute'));
    if (holds(perms, 'DEAFEN_MEMBERS')) out.push(h('button', { class: 'link-btn', onclick: act(() => R.voice.updateMember(channelId, userId, { deaf: !s.deaf })) }, s.deaf ? 'Undeafen' : 'Server deafen'));
    if (holds(perms, 'MOVE_MEMBERS')) out.push(h('button', { class: 'link-btn', onclick: act(() => R.voice.disconnect(channelId, userId)) }, 'Disconnect'));
    return out.length ? h('div', { class: 'voice-mod' }, out) : null;
  }

  buildSettings() {
    const call = this.call;
    const input = h('select', { id: 'voice-input', onchange: (e) => call.setInput(e.target.value).catch((err) => this.problem(err.message)) });
    const output = h('select', { id: 'voice-output', onchange: (e) => call.setOutput(e.target.value) });
    const ptt = h('input', { type: 'checkbox', id: 'voice-ptt', checked: !!call?.pushToTalk });
    const key = h('button', { type: 'button', class: 'link-btn', id: 'voice-ptt-key' }, call?.pushToTalk || 'Backquote');
    ptt.addEventListener('change', () => { call.pushToTalk = ptt.checked ? key.textContent : null; call.applyMute(); this.render(); });
    key.addEventListener('click', () => {
      key.textContent = 'Press a key…';
      const pick = (e) => {
        e.preventDefault();
        key.textContent = e.code;
        if (ptt.checked) call.pushToTalk = e.code;
        window.removeEventListener('keydown', pick, true);
        this.render();
      };
      window.addEventListener('keydown', pick, true);
    });
    const fill = async () => {
      try {
        const { inputs, outputs } = await call.devices();
        replace(input, h('option', { value: '' }, 'Default microphone'), inputs.map((d, i) => h('option', { value: d.deviceId, selected: d.deviceId === call.inputId }, d.label || `Microphone ${i + 1}`)));
        replace(output, h('option', { value: '' }, 'Default speaker'), outputs.map((d, i) => h('option', { value: d.deviceId, selected: d.deviceId === call.outputId }, d.label || `Speaker ${i + 1}`)));
      } catch (err) {
        this.problem(err.message);
      }
    };
    this.settings.addEventListener('toggle', () => { if (this.settings.open) fill(); });
    this.settings.append(
      h('div', { class: 'field' }, h('label', { for: 'voice-input' }, 'Input device'), input),
      h('div', { class: 'field' }, h('label', { for: 'voice-output' }, 'Output device'), output),
      h('div', { class: 'field inline' }, ptt, h('label', { for: 'voice-ptt' }, 'Push to talk'), key));
  }
}
