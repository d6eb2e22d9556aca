// The open channel's header kept current: its name, topic and settings gear follow CHANNEL_UPDATE
// (and permission changes) without a reload.

import { h } from '../dom.js';
import * as store from '../store.js';
import { channelSettingsButton } from './channel_menu.js';

/** Watch the channel list and patch the header of `chat` in place; returns the unsubscribe. */
export function liveChannelHeader(chat) {
  if (chat.dm) return () => {};
  const header = chat.el.querySelector('.chat-header');
  let shown = JSON.stringify([chat.channel?.name, chat.channel?.topic, chat.channel?.perms]);
  return store.on('channels', () => {
    const c = store.channelById(chat.channelId);
    if (!c || !header) return;
    const now = JSON.stringify([c.name, c.topic, c.perms]);
    if (now === shown) return; // nothing that shows here changed: leave the nodes alone
    shown = now;
    chat.channel = c;
    chat.label = `#${c.name}`;
    const title = header.querySelector('.channel-title');
    if (title && title.lastChild) title.lastChild.textContent = c.name;
    chat.list.setAttribute('aria-label', `Messages in ${chat.label}`);
    let topic = header.querySelector('.channel-topic');
    if (c.topic) {
      if (!topic) {
        topic = h('p', { class: 'channel-topic muted' });
        title.after(topic);
      }
      topic.textContent = c.topic;
    } else topic?.remove();
    // The gear comes and goes with the right to change the channel.
    const gear = header.querySelector('[aria-label="Channel settings"]');
    const wanted = channelSettingsButton(chat);
    if (wanted && !gear) header.querySelector('.header-actions [aria-label="Member list"]')?.before(wanted);
    else if (!wanted && gear) gear.remove();
  });
}
