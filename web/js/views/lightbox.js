// The image lightbox: a message's images full size, one at a time. A modal <dialog> (the page behind
// is inert), Escape closes, the arrow keys move between the message's images, Tab stays inside, and
// focus goes back to the preview that opened it. Loaded on first use (attachments.js imports it).

import { h, replace } from '../dom.js';
import { icon } from '../icons.js';
import { fullSize, glyph } from './attachments.js';

/** Show `images` (MediaOut of image kind) starting at `index`; `opener` gets focus back on close. */
export function openLightbox(images, index, opener) {
  if (!images.length) return;
  let at = Math.max(0, Math.min(index, images.length - 1));
  const title = h('h2', { id: 'lightbox-title', class: 'lightbox-title' });
  const stage = h('div', { class: 'lightbox-stage' });
  const download = h('a', { class: 'icon-btn lightbox-open', target: '_blank', rel: 'noopener' }, glyph('download'));
  const prev = h('button', { type: 'button', class: 'icon-btn lightbox-prev', 'aria-label': 'Previous image', onclick: () => show(at - 1) }, '‹');
  const next = h('button', { type: 'button', class: 'icon-btn lightbox-next', 'aria-label': 'Next image', onclick: () => show(at + 1) }, '›');
  const close = h('button', { type: 'button', class: 'icon-btn lightbox-close', 'aria-label': 'Close', onclick: () => dialog.close() }, icon('close'));
  const dialog = h('dialog', { class: 'lightbox', 'aria-labelledby': 'lightbox-title', 'aria-modal': 'true' },
    h('header', { class: 'lightbox-bar' }, title, h('div', { class: 'lightbox-tools' }, download, close)),
    stage,
    images.length > 1 ? h('nav', { class: 'lightbox-nav', 'aria-label': 'Images' }, prev, next) : null);

  function show(i) {
    at = (i + images.length) % images.length;
    const media = images[at];
    const full = fullSize(media) || {};
    const name = media.filename || 'Image';
    title.textContent = images.length > 1 ? `${name} (${at + 1} of ${images.length})` : name;
    const img = h('img', { class: 'lightbox-img', src: full.url, alt: name });
    if (media.dominant_color) stage.style.setProperty('--placeholder', media.dominant_color);
    replace(stage, img);
    download.href = (media.variants || []).find((v) => v.name === 'original')?.url || full.url;
    download.setAttribute('aria-label', `Open ${name} original in a new tab`);
    download.title = 'Open original';
  }

  dialog.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowRight' && images.length > 1) { e.preventDefault(); show(at + 1); }
    else if (e.key === 'ArrowLeft' && images.length > 1) { e.preventDefault(); show(at - 1); }
    else if (e.key === 'Tab') {
      // A modal dialog already makes the page inert; this also keeps Tab off the browser's own UI.
      const stops = [...dialog.querySelectorAll('a[href], button')].filter((el) => !el.hidden);
      const i = stops.indexOf(document.activeElement);
      const to = e.shiftKey ? (i <= 0 ? stops.length - 1 : i - 1) : (i === stops.length - 1 ? 0 : i + 1);
      e.preventDefault();
      stops[to].focus();
    }
  });
  // A click on the dark backdrop (outside the image and the controls) closes it.
  dialog.addEventListener('click', (e) => { if (e.target === dialog || e.target === stage) dialog.close(); });
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener && opener.isConnected) opener.focus();
  });
  show(at);
  document.body.appendChild(dialog);
  dialog.showModal();
  close.focus();
  return dialog;
}
