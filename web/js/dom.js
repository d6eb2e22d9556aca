// DOM helpers. User content only ever reaches the page as text nodes, or as the server's sanitized
// HTML passed once more through an allow-list here (defence in depth; the CSP forbids inline scripts).

/** h('button', {class: 'x', onclick: fn, 'aria-label': 'y'}, 'text', child) -> HTMLElement.
 *  Strings become text nodes (never parsed as HTML). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else if (key === 'class') el.className = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'hidden' || key === 'selected') el[key] = value;
      else if (key === 'ref') value(el);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

const ALLOWED = new Set([
  'P', 'BR', 'HR', 'STRONG', 'EM', 'S', 'DEL', 'CODE', 'PRE', 'BLOCKQUOTE', 'UL', 'OL', 'LI', 'A',
  'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'TABLE', 'THEAD', 'TBODY', 'TR', 'TH', 'TD', 'SPAN',
]);
const DROP_WITH_CONTENT = new Set(['SCRIPT', 'STYLE', 'IFRAME', 'OBJECT', 'EMBED', 'TEMPLATE', 'SVG', 'MATH', 'NOSCRIPT']);

/** The server's sanitized HTML as a fragment, re-checked against an allow-list of tags and attributes.
 *  Parsed inside a <template>, whose content is inert: nothing loads or runs while we inspect it. */
export function safeHTML(html, decorateText) {
  const tpl = document.createElement('template');
  tpl.innerHTML = html;
  scrub(tpl.content, decorateText);
  return tpl.content;
}

function scrub(node, decorateText) {
  for (const child of [...node.childNodes]) {
    if (child.nodeType === Node.TEXT_NODE) {
      if (decorateText) decorateText(child);
      continue;
    }
    if (child.nodeType !== Node.ELEMENT_NODE) {
      child.remove();
      continue;
    }
    const tag = child.tagName.toUpperCase();
    if (DROP_WITH_CONTENT.has(tag)) {
      child.remove();
      continue;
    }
    scrub(child, decorateText);
    if (!ALLOWED.has(tag)) {
      child.replaceWith(...child.childNodes);
      continue;
    }
    for (const attr of [...child.attributes]) {
      const keep = (tag === 'A' && (attr.name === 'href' || attr.name === 'title')) || (tag === 'OL' && attr.name === 'start');
      if (!keep) child.removeAttribute(attr.name);
    }
    if (tag === 'A') {
      const href = child.getAttribute('href') || '';
      if (!/^(https?:|mailto:)/i.test(href)) child.removeAttribute('href');
      child.setAttribute('rel', 'nofollow noopener noreferrer ugc');
      child.setAttribute('target', '_blank');
    }
  }
}

/** A small Markdown subset rendered straight to DOM nodes (text nodes only), for text the server did
 *  not render: code blocks, inline code, bold, italics, strike-through, links, line breaks. */
export function markdownNodes(text, decorateText) {
  const frag = document.createDocumentFragment();
  const parts = text.split(/```(?:[a-z0-9_+-]*\n)?([\s\S]*?)```/);
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      frag.appendChild(h('pre', null, h('code', null, part)));
      return;
    }
    inline(frag, part, decorateText);
  });
  return frag;
}

const INLINE = /(`[^`\n]+`)|(\*\*[^*\n]+\*\*)|(~~[^~\n]+~~)|(\*[^*\n]+\*|_[^_\n]+_)|(https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)])/;

function inline(parent, text, decorateText) {
  let rest = text;
  while (rest) {
    const m = INLINE.exec(rest);
    if (!m) {
      textWithBreaks(parent, rest, decorateText);
      break;
    }
    textWithBreaks(parent, rest.slice(0, m.index), decorateText);
    const token = m[0];
    if (m[1]) parent.appendChild(h('code', null, token.slice(1, -1)));
    else if (m[2]) inline(parent.appendChild(h('strong')), token.slice(2, -2), decorateText);
    else if (m[3]) inline(parent.appendChild(h('s')), token.slice(2, -2), decorateText);
    else if (m[4]) inline(parent.appendChild(h('em')), token.slice(1, -1), decorateText);
    else parent.appendChild(h('a', { href: token, rel: 'nofollow noopener noreferrer ugc', target: '_blank' }, token));
    rest = rest.slice(m.index + token.length);
  }
}

function textWithBreaks(parent, text, decorateText) {
  text.split('\n').forEach((line, i) => {
    if (i) parent.appendChild(h('br'));
    if (!line) return;
    const node = document.createTextNode(line);
    parent.appendChild(node);
    if (decorateText) decorateText(node);
  });
}

/** Replace matches of `pattern` inside a text node with elements made by `make(match)`. */
export function splitText(node, pattern, make) {
  const text = node.nodeValue;
  pattern.lastIndex = 0;
  if (!pattern.test(text)) return;
  pattern.lastIndex = 0;
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index > last) frag.appendChild(document.createTextNode(text.slice(last, m.index)));
    frag.appendChild(make(m));
    last = m.index + m[0].length;
  }
  if (last < text.length) frag.appendChild(document.createTextNode(text.slice(last)));
  node.replaceWith(frag);
}

export function announce(message) {
  const el = document.getElementById('announcer');
  if (!el) return;
  el.textContent = '';
  setTimeout(() => { el.textContent = message; }, 30);
}

export function formatTime(ms) {
  const d = new Date(ms);
  const now = new Date();
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === now.toDateString()) return `Today at ${time}`;
  const y = new Date(now);
  y.setDate(now.getDate() - 1);
  if (d.toDateString() === y.toDateString()) return `Yesterday at ${time}`;
  return `${d.toLocaleDateString()} ${time}`;
}

export function initials(name) {
  const words = (name || '?').trim().split(/\s+/).filter(Boolean);
  return ((words[0] || '?')[0] + (words[1] ? words[1][0] : '')).toUpperCase();
}

/** A stable hue for a user's avatar circle. */
export function hue(id) {
  // FNV-1a: ids made close together share a prefix, so every character must stir the result.
  let n = 0x811c9dc5;
  for (const c of id || '') n = Math.imul(n ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return n % 360;
}
