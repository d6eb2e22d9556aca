// "Sign in with …" buttons on the sign-in page: one per OAuth provider this node has configured
// (GET /api/v1/auth/oauth, public). Each is a plain link to the node's browser entry point, which
// redirects to the provider; nothing shows when the node has none (or cannot be reached).

import * as R from '../content.js';
import { h, replace } from '../dom.js';

const LABELS = { github: 'GitHub', google: 'Google', discord: 'Discord' };

function label(p) {
  if (LABELS[p.preset]) return LABELS[p.preset];
  return p.name.charAt(0).toUpperCase() + p.name.slice(1);
}

/** A box that fills itself with the node's providers (empty and hidden when there are none). */
export function oauthButtons() {
  const box = h('div', { class: 'oauth-buttons', hidden: true, 'aria-label': 'Sign in with another account' });
  R.auth.oauthProviders().then((out) => {
    const providers = out.providers || [];
    if (!providers.length) return;
    replace(box,
      h('p', { class: 'oauth-or muted' }, 'or'),
      providers.map((p) => h('a', {
        class: `btn oauth-btn oauth-${p.preset}`,
        href: R.auth.oauthLoginUrl(p.name),
        dataset: { provider: p.name },
      }, `Sign in with ${label(p)}`)));
    box.hidden = false;
  }).catch(() => {});
  return box;
}
