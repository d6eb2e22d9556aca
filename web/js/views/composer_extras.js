// What the chat composer gains beside its text box: attachments (the tray, attachments.js) and the
// emoji picker (emoji_picker.js, imported only when first opened). A custom emoji picked shows as
// :name: in the text box and is sent as its token <:name:id>.

import { h } from '../dom.js';
import { icon } from '../icons.js';
import { Tray } from './attachments.js';
import { pollButton } from './polls.js';

export class ComposerExtras {
  constructor(composer) {
    this.composer = composer;
    this.tray = new Tray(composer);
    this.custom = new Map(); // ":name:" -> "<:name:id>", for custom emoji picked from the picker
    this.emojiButton = h('button', {
      type: 'button', class: 'icon-btn emoji-open', 'aria-label': 'Emoji', title: 'Emoji', 'aria-haspopup': 'dialog',
      onclick: () => this.openPicker(),
    }, icon('smile'));
    this.pollButton = pollButton(composer); // polls.js: a dialog sending a message with a poll
  }

  /** The community the open channel belongs to (a DM has none, so no custom emoji). */
  get communityId() {
    return this.composer.chat.dm ? null : this.composer.chat.channel?.community_id || null;
  }

  async openPicker() {
    // The caret now: a dialog handing the focus back to the text box moves it to the start.
    const input = this.composer.input;
    const at = [input.selectionStart ?? input.value.length, input.selectionEnd ?? input.value.length];
    const { openEmojiPicker } = await import('./emoji_picker.js');
    openEmojiPicker({
      title: 'Emoji',
      communityId: this.communityId,
      pick: (item) => {
        if (item.custom) {
          this.custom.set(`:${item.name}:`, `<:${item.name}:${item.id}>`);
          this.insert(`:${item.name}: `, at);
        } else this.insert(item.emoji, at);
      },
    });
  }

  insert(text, [start, end]) {
    const input = this.composer.input;
    this.composer.focus();
    input.value = input.value.slice(0, start) + text + input.value.slice(end);
    input.setSelectionRange(start + text.length, start + text.length);
    input.dispatchEvent(new Event('input'));
  }

  /** Custom emoji picked while writing become their tokens. */
  encode(text) {
    let out = text;
    for (const [name, token] of this.custom) out = out.split(name).join(token);
    this.custom.clear();
    return out;
  }

  update() {
    this.tray.update();
    this.emojiButton.hidden = this.composer.input.disabled;
    this.pollButton.hidden = this.composer.input.disabled || !!this.composer.chat.dm;
  }
}
