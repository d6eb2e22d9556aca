// A channel's settings gear (its dialog, channel_settings.js, loads on first use) and the slow-mode
// note members see above the composer.

import { h } from '../dom.js';
import { icon } from '../icons.js';
import { holds } from '../perms.js';
import * as store from '../store.js';

export const SLOWMODE = [[0, 'Off'], [5, '5 seconds'], [10, '10 seconds'], [15, '15 seconds'], [30, '30 seconds'],
  [60, '1 minute'], [120, '2 minutes'], [300, '5 minutes'], [600, '10 minutes'], [900, '15 minutes'],
  [1800, '30 minutes'], [3600, '1 hour'], [7200, '2 hours'], [21600, '6 hours']];

export function slowmodeText(s) {
  const hit = SLOWMODE.find(([v]) => v === s);
  if (hit) return hit[1];
  return s < 60 ? `${s} seconds` : `${Math.round(s / 60)} minutes`;
}

/** Who may open a channel's settings: those who manage it or its permissions. */
export function canEditChannel(channel) {
  return !!channel && (holds(channel.perms, 'MANAGE_CHANNELS') || holds(channel.perms, 'MANAGE_ROLES'));
}

/** The gear in a channel's header (null for those who may not change the channel). */
export function channelSettingsButton(chat) {
  if (chat.dm || !canEditChannel(chat.channel)) return null;
  return h('button', {
    class: 'icon-btn', 'aria-label': 'Channel settings', title: 'Channel settings', 'aria-haspopup': 'dialog',
    onclick: () => import('./channel_settings.js').then((mod) => mod.channelSettingsDialog(chat.channel)),
  }, icon('gear'));
}

/** "Slow mode is on" above the composer, kept current as the channel changes; returns {el, stop}. */
export function slowmodeNote(chat) {
  const el = h('p', { class: 'slowmode-note muted', role: 'status', hidden: true });
  const render = () => {
    const ch = store.channelById(chat.channelId) || chat.channel;
    const s = ch && !chat.dm ? ch.slowmode_s || 0 : 0;
    const exempt = ch && (holds(ch.perms, 'MANAGE_MESSAGES') || holds(ch.perms, 'MANAGE_CHANNELS'));
    el.hidden = !s;
    el.textContent = s ? `Slow mode is on: one message every ${slowmodeText(s)}${exempt ? ' (you are exempt)' : ''}.` : '';
  };
  render();
  return { el, stop: store.on('channels', render) };
}
