// Re-rendering without replacing what did not change. A list rebuilt from scratch on every live
// event swaps the node under the pointer between mousedown and mouseup, and the browser then
// drops the click. morph() keeps the old nodes where the new render is the same: a node with the
// same markup stays as it is; a link to the same place, or a plain container, stays and has its
// attributes and children brought up to date; anything else (a button whose handler may differ)
// is replaced.

const CONTAINERS = new Set(['UL', 'OL', 'LI', 'HEADER', 'DIV', 'SECTION', 'NAV', 'SPAN', 'H2', 'H3', 'P']);

function keyOf(node) {
  return node.nodeType === 1 ? node.getAttribute('data-focus-key') || node.id || '' : '';
}

function keepable(old, fresh) {
  if (old.nodeType !== fresh.nodeType) return false;
  if (old.nodeType !== 1) return true; // text: its content is updated in place
  if (old.tagName !== fresh.tagName || keyOf(old) !== keyOf(fresh)) return false;
  if (old.tagName === 'A') return old.getAttribute('href') === fresh.getAttribute('href');
  return CONTAINERS.has(old.tagName);
}

function syncAttributes(old, fresh) {
  for (const { name } of [...old.attributes]) if (!fresh.hasAttribute(name)) old.removeAttribute(name);
  for (const { name, value } of [...fresh.attributes]) if (old.getAttribute(name) !== value) old.setAttribute(name, value);
}

/** Make `parent`'s children look like `fresh` (new nodes, not yet in the page), keeping nodes. */
export function morph(parent, fresh) {
  const list = fresh.filter((n) => n !== null && n !== undefined && n !== false)
    .map((n) => (n instanceof Node ? n : document.createTextNode(String(n))));
  list.forEach((n, i) => {
    const old = parent.childNodes[i];
    if (!old) {
      parent.appendChild(n);
    } else if (old.nodeType === 1 && n.nodeType === 1 && old.outerHTML === n.outerHTML) {
      // the same markup: leave it (and what the pointer is on) alone
    } else if (keepable(old, n)) {
      if (old.nodeType !== 1) {
        if (old.nodeValue !== n.nodeValue) old.nodeValue = n.nodeValue;
      } else {
        syncAttributes(old, n);
        morph(old, [...n.childNodes]);
      }
    } else {
      parent.replaceChild(n, old);
    }
  });
  while (parent.childNodes.length > list.length) parent.lastChild.remove();
}
