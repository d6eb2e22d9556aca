// Chat attachments: files added to the composer (its button, a paste, a drop on the channel) are
// uploaded at once to the media plugin (POST /api/v1/media) with a progress bar each and a cancel
// button; the message goes with their media ids once all are up. In the message list an image shows
// as a preview (its BlurHash or dominant colour until the thumbnail loads) that opens the lightbox;
// anything else (audio, video) as a file card with its name, size, type and a download link.

import * as api from '../api.js';
import * as R from '../content.js';
import { announce, h, replace } from '../dom.js';
import { icon } from '../icons.js';
import * as store from '../store.js';
import { placeholderURL } from './blurhash.js';

const ATTACH_FILES = 1n << 3n;
const MAX_FILES = 10; // MessageIn.attachments
const SVG = 'http://www.w3.org/2000/svg';
// Icons this module needs that the shared set (icons.js) lacks.
const PATHS = {
  clip: ['M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.3 3.3 0 0 1 4.7 4.7l-8.6 8.6a1.7 1.7 0 0 1-2.4-2.4l7.9-7.9'],
  image: ['M4 5h16v14H4z', 'M4 16l5-5 4 4 3-3 4 4', 'M15.5 9.5h.01'],
  audio: ['M9 18V6l10-2v12', 'M9 18a3 3 0 1 1-6 0 3 3 0 0 1 6 0z', 'M19 16a3 3 0 1 1-6 0 3 3 0 0 1 6 0z'],
  video: ['M3 6h12v12H3z', 'M15 10l6-3v10l-6-3'],
  file: ['M6 3h8l5 5v13H6z', 'M14 3v5h5'],
  download: ['M12 4v11', 'M7 10l5 5 5-5', 'M5 20h14'],
};

export function glyph(name, size = 20) {
  const svg = document.createElementNS(SVG, 'svg');
  for (const [k, v] of Object.entries({ viewBox: '0 0 24 24', width: size, height: size, fill: 'none', stroke: 'currentColor', 'stroke-width': '2', 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true', focusable: 'false' })) svg.setAttribute(k, String(v));
  for (const d of PATHS[name] || []) {
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    svg.appendChild(path);
  }
  return svg;
}

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10240 ? 1 : 0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// -- uploading -------------------------------------------------------------------------------------

/** Upload one file with progress (fetch has no upload progress; XHR does). Returns
 *  {done: Promise<MediaOut>, abort()}; an expired access token is refreshed and the upload retried. */
export function upload(file, onProgress) {
  let xhr = null;
  let aborted = false;
  const once = () => new Promise((resolve, reject) => {
    xhr = new XMLHttpRequest();
    xhr.open('POST', R.media.uploadUrl());
    if (api.token()) xhr.setRequestHeader('Authorization', `Bearer ${api.token()}`);
    xhr.setRequestHeader('X-Cryb-Client', 'web');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON (a proxy's error page) */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new api.ApiError(xhr.status, data));
    };
    xhr.onerror = () => reject(new api.ApiError(0, { detail: 'Upload failed: cannot reach the server.' }));
    xhr.onabort = () => reject(Object.assign(new Error('Upload cancelled.'), { cancelled: true }));
    const form = new FormData();
    form.append('file', file, file.name || 'file');
    xhr.send(form);
  });
  const done = once().catch(async (err) => {
    if (err.status !== 401 || aborted) throw err;
    await api.refresh();
    return once();
  });
  return { done, abort: () => { aborted = true; if (xhr) xhr.abort(); } };
}

/** The files being attached to the next message, shown above the composer's text box. */
export class Tray {
  constructor(composer) {
    this.composer = composer;
    this.items = []; // {id, file, bar, row, media, error, job}
    this.el = h('ul', { class: 'upload-tray', 'aria-label': 'Attachments', hidden: true });
    this.picker = h('input', {
      type: 'file', multiple: true, class: 'sr-only', tabindex: '-1', 'aria-hidden': 'true',
      accept: 'image/*,video/*,audio/*',
      onchange: () => { this.add([...this.picker.files]); this.picker.value = ''; },
    });
    this.button = h('button', {
      type: 'button', class: 'icon-btn attach-btn', 'aria-label': 'Attach files', title: 'Attach files',
      onclick: () => this.picker.click(),
    }, glyph('clip'));
    composer.input.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData?.files || [])];
      if (!files.length) return; // plain text pastes as usual
      e.preventDefault();
      this.add(files);
    });
    this.update();
  }

  allowed() {
    // A DM's participants may always attach (the node's DM permissions include ATTACH_FILES).
    const chat = this.composer.chat;
    return !this.composer.input.disabled && (chat.dm || store.can(chat.perms, ATTACH_FILES));
  }

  update() {
    this.button.hidden = !this.allowed();
  }

  /** Let the whole channel view take dropped files (a highlighted outline while dragging over). */
  dropZone(el) {
    let depth = 0;
    const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
    el.addEventListener('dragenter', (e) => { if (hasFiles(e) && this.allowed()) { depth += 1; el.classList.add('drop-target'); } });
    el.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) el.classList.remove('drop-target'); });
    el.addEventListener('dragover', (e) => { if (hasFiles(e) && this.allowed()) { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; } });
    el.addEventListener('drop', (e) => {
      depth = 0;
      el.classList.remove('drop-target');
      if (!hasFiles(e) || !this.allowed()) return;
      e.preventDefault();
      this.add([...e.dataTransfer.files]);
      this.composer.focus();
    });
  }

  add(files) {
    const room = MAX_FILES - this.items.length;
    if (files.length > room) this.composer.error.textContent = `A message takes at most ${MAX_FILES} files.`;
    for (const file of files.slice(0, Math.max(0, room))) this.start(file);
  }

  start(file) {
    const item = { id: Math.random().toString(36).slice(2), file, media: null, error: null };
    const label = `${file.name || 'pasted file'} (${formatSize(file.size)})`;
    item.bar = h('progress', { max: '1', value: '0', 'aria-label': `Uploading ${file.name || 'pasted file'}` });
    item.status = h('span', { class: 'upload-status muted' }, 'Uploading…');
    item.row = h('li', { class: 'upload-item', dataset: { name: file.name || '' } },
      h('span', { class: 'upload-icon' }, glyph(kindOf(file.type))),
      h('span', { class: 'upload-name', title: label }, label),
      item.bar, item.status,
      h('button', {
        type: 'button', class: 'icon-btn', 'aria-label': `Remove ${file.name || 'pasted file'}`, title: 'Cancel or remove',
        onclick: () => this.remove(item),
      }, icon('close', 16)));
    this.items.push(item);
    this.el.appendChild(item.row);
    this.el.hidden = false;
    const job = upload(file, (f) => { item.bar.value = f; item.status.textContent = `${Math.round(f * 100)}%`; });
    item.abort = job.abort;
    item.job = job.done.then((media) => {
      item.media = media;
      item.bar.value = 1;
      item.row.classList.add('done');
      item.status.textContent = 'Ready';
      announce(`${file.name || 'File'} uploaded.`);
    }, (err) => {
      if (err.cancelled) return;
      item.error = err.message;
      item.row.classList.add('failed');
      item.status.textContent = err.message;
    });
  }

  remove(item) {
    if (!item.media && !item.error) item.abort();
    else if (item.media) R.media.remove(item.media.id).catch(() => {});
    this.items = this.items.filter((i) => i !== item);
    item.row.remove();
    this.el.hidden = !this.items.length;
    announce(`${item.file.name || 'File'} removed.`);
    this.composer.focus();
  }

  get count() {
    return this.items.length;
  }

  /** Wait for the uploads still running, then hand over the ids of those that made it and empty the
   *  tray. Null (the tray kept) when one failed: the member removes it or tries again. */
  async take() {
    await Promise.all(this.items.map((i) => i.job));
    if (this.items.some((i) => i.error)) return null;
    const ids = this.items.map((i) => i.media.id);
    this.items = [];
    replace(this.el);
    this.el.hidden = true;
    return ids;
  }
}

function kindOf(mime) {
  if ((mime || '').startsWith('image/')) return 'image';
  if ((mime || '').startsWith('audio/')) return 'audio';
  if ((mime || '').startsWith('video/')) return 'video';
  return 'file';
}

// -- showing ---------------------------------------------------------------------------------------

const described = new Map(); // media id -> Promise<MediaOut|null>, until its signed URLs expire

/** GET /api/v1/media/{id}, kept while its URLs stay valid (signed ones expire). */
export function describe(id) {
  const hit = described.get(id);
  if (hit && (!hit.expires || hit.expires > Date.now() / 1000 + 60)) return hit.promise;
  const entry = { promise: null, expires: 0 };
  entry.promise = R.media.get(id).then((m) => {
    entry.expires = m.url_expires_at || 0;
    return m;
  }, () => {
    described.delete(id);
    return null;
  });
  described.set(id, entry);
  return entry.promise;
}

function variant(m, ...names) {
  for (const name of names) {
    const v = (m.variants || []).find((x) => x.name === name);
    if (v) return v;
  }
  return null;
}

/** A thumbnail at least `px` wide, or the closest. */
function thumb(m, px) {
  const thumbs = (m.variants || []).filter((v) => v.name.startsWith('thumb_')).sort((a, b) => (a.width || 0) - (b.width || 0));
  return thumbs.find((v) => (v.width || 0) >= px) || variant(m, 'webp', 'original') || thumbs[thumbs.length - 1];
}

/** The full-size image the lightbox shows. */
export function fullSize(m) {
  return variant(m, 'webp', 'original');
}

/** The attachments of a message as previews and cards (null when it has none). */
export function renderAttachments(m) {
  const ids = m.attachments || [];
  if (!ids.length || m.deleted) return null;
  const box = h('div', { class: 'attachments', role: 'group', 'aria-label': ids.length === 1 ? 'Attachment' : `${ids.length} attachments` });
  const slots = ids.map((id) => h('div', { class: 'att-slot loading', dataset: { media: id } }, h('span', { class: 'sr-only' }, 'Loading attachment…')));
  box.append(...slots);
  Promise.all(ids.map(describe)).then((medias) => {
    const images = medias.filter((x) => x && x.kind === 'image');
    medias.forEach((media, i) => {
      const slot = slots[i];
      slot.classList.remove('loading');
      if (!media) replace(slot, h('p', { class: 'att-missing muted' }, 'This attachment is not available.'));
      else if (media.kind === 'image') slot.replaceWith(imagePreview(media, images));
      else slot.replaceWith(fileCard(media));
    });
  });
  return box;
}

function imagePreview(media, images) {
  const small = thumb(media, 320) || {};
  const w = media.width || small.width || 320;
  const hgt = media.height || small.height || 240;
  // Shown at most 300 x 300 (two side by side; less on a phone, by CSS), keeping the aspect ratio so nothing jumps.
  const scale = Math.min(1, 300 / w, 300 / hgt);
  const style = `aspect-ratio: ${w} / ${hgt}; width: ${Math.max(48, Math.round(w * scale))}px;`
    + (media.dominant_color ? ` background-color: ${media.dominant_color};` : '');
  const bg = media.placeholder ? placeholderURL(media.placeholder, 32, Math.max(1, Math.round(32 * hgt / w))) : null;
  const img = h('img', {
    src: small.url, alt: media.filename ? `Image ${media.filename}` : 'Image', loading: 'lazy', decoding: 'async',
    width: String(Math.round(w * scale)), height: String(Math.round(hgt * scale)),
    onload: (e) => e.currentTarget.parentElement.classList.add('loaded'),
  });
  const button = h('button', {
    type: 'button', class: 'att-image', style, 'aria-label': `Open image${media.filename ? ` ${media.filename}` : ''} full size`,
    dataset: { media: media.id },
    onclick: async (e) => {
      const opener = e.currentTarget;
      const { openLightbox } = await import('./lightbox.js');
      openLightbox(images, images.indexOf(media), opener);
    },
  }, img);
  if (bg) button.style.backgroundImage = `url("${bg}")`;
  return button;
}

function fileCard(media) {
  const original = variant(media, 'original') || (media.variants || [])[0];
  const name = media.filename || `${media.kind}.${(media.mime.split('/')[1] || 'bin')}`;
  return h('div', { class: 'file-card', dataset: { media: media.id } },
    h('span', { class: 'file-icon' }, glyph(kindOf(media.mime), 28)),
    h('div', { class: 'file-meta' },
      h('span', { class: 'file-name' }, name),
      h('span', { class: 'file-info muted' }, `${media.mime} · ${formatSize(media.size)}`)),
    original ? h('a', {
      class: 'icon-btn file-download', href: original.url, download: name, 'aria-label': `Download ${name}`, title: 'Download',
    }, glyph('download')) : null);
}
