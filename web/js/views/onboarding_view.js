// The welcome screen at /channels/<community>/@welcome (welcome text, the rules to accept,
// recommended channels, self-assignable roles) and the Onboarding tab of community settings;
// loaded when first opened (onboarding.js has the hooks and the shared cache).

import * as R from '../content.js';
import { announce, h, markdownNodes, replace } from '../dom.js';
import { holds } from '../perms.js';
import * as store from '../store.js';
import { banner, busy, field, showError, submitButton } from './forms.js';
import { blockedText, onboarding, remember } from './onboarding.js';

const { state } = store;

export class WelcomeView {
  constructor(shell, communityId) {
    this.shell = shell;
    this.communityId = communityId;
    this.channelId = '@welcome';
    this.title = h('h2', { class: 'channel-title' }, 'Welcome');
    this.body = h('section', { class: 'welcome', 'aria-label': 'Welcome screen' }, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
    this.el = h('div', { class: 'chat-view welcome-view' }, shell.header(this.title), h('div', { class: 'scroller pane-scroller' }, this.body));
  }

  destroy() {}
  focusComposer() {}
  flushOutbox() {}
  catchUp() {}

  async load() {
    try {
      this.render(await onboarding(this.communityId, { fresh: true }));
    } catch (err) {
      replace(this.body, h('p', { role: 'alert' }, err.message));
    }
  }

  async act(fn, done) {
    try {
      const ob = remember(await fn());
      this.render(ob);
      if (done) announce(done);
      // The channel list's permissions do not change, but an open composer asks again.
      store.emit('communities');
    } catch (err) {
      announce(err.message);
      this.status.textContent = err.message;
    }
  }

  render(ob) {
    const name = state.communities.get(this.communityId)?.name || 'the community';
    this.title.textContent = `Welcome to ${name}`;
    const me = ob.me;
    const cid = this.communityId;
    this.status = h('p', { class: me.can_post ? 'welcome-status ok' : 'welcome-status', role: 'status', 'data-testid': 'welcome-status' },
      !me.member ? 'Join the community to take part.' : me.can_post ? 'You can post now.' : blockedText(me));
    const parts = [];
    if (ob.welcome) parts.push(h('div', { class: 'welcome-text' }, markdownNodes(ob.welcome)));
    if (ob.rules) {
      const rules = h('section', { class: 'welcome-card', 'aria-labelledby': 'welcome-rules' },
        h('h3', { id: 'welcome-rules' }, 'Rules'), h('div', { class: 'welcome-rules' }, markdownNodes(ob.rules)));
      if (me.member && ob.require_rules && !me.accepted) {
        const agree = h('input', { type: 'checkbox', id: 'welcome-agree' });
        const accept = h('button', { type: 'button', class: 'btn primary', disabled: true }, 'Accept rules');
        agree.addEventListener('change', () => { accept.disabled = !agree.checked; });
        accept.addEventListener('click', () => this.act(
          () => R.communities.acceptRules(cid, { rules_hash: ob.rules_hash }), 'You accepted the rules.'));
        rules.append(h('label', { class: 'welcome-agree', for: 'welcome-agree' }, agree, ' I have read and agree to the rules'), accept);
      } else if (me.accepted) {
        rules.append(h('p', { class: 'muted' }, '✓ You accepted the rules.'));
      }
      parts.push(rules);
    }
    if (me.member && ob.verification === 'email' && !me.email_verified) {
      parts.push(h('section', { class: 'welcome-card' }, h('h3', null, 'Verified email'),
        h('p', null, 'This community asks for a verified email address. Verify yours with the link we mailed you, then confirm here.'),
        h('button', { type: 'button', class: 'btn', onclick: () => this.act(
          () => R.communities.acceptRules(cid, { rules_hash: ob.rules_hash }), null) }, 'Confirm my address')));
    }
    if (ob.self_roles.length) {
      parts.push(h('section', { class: 'welcome-card', 'aria-labelledby': 'welcome-roles' },
        h('h3', { id: 'welcome-roles' }, 'Pick your roles'),
        h('div', { class: 'welcome-roles' }, ob.self_roles.map((r) => h('button', {
          type: 'button', class: `chip${r.mine ? ' on' : ''}`, 'aria-pressed': String(r.mine), disabled: !me.member,
          style: r.color ? `--chip:#${r.color.toString(16).padStart(6, '0')}` : undefined,
          onclick: () => this.act(() => (r.mine ? R.communities.dropSelfRole : R.communities.takeSelfRole)(cid, r.id),
            r.mine ? `Removed ${r.name}.` : `You are now ${r.name}.`),
        }, r.name)))));
    }
    if (ob.channels.length) {
      parts.push(h('section', { class: 'welcome-card', 'aria-labelledby': 'welcome-channels' },
        h('h3', { id: 'welcome-channels' }, 'Start here'),
        h('ul', { class: 'welcome-channels' }, ob.channels.map((c) => h('li', null,
          h('a', { href: `/channels/${this.communityId}/${c.channel_id}`, onclick: (e) => { e.preventDefault(); this.shell.navigate(`/channels/${this.communityId}/${c.channel_id}`); } }, `#${c.name}`),
          c.note ? h('span', { class: 'muted' }, ` — ${c.note}`) : null)))));
    }
    parts.push(h('p', null, h('button', { type: 'button', class: 'btn', onclick: () => this.shell.navigate(`/channels/${this.communityId}`) }, 'Go to the community')));
    replace(this.body, this.status, ...parts);
  }
}

// -- community settings: the Onboarding tab --------------------------------------------------------

/** The settings tab (MANAGE_COMMUNITY): rules, screening, verification level, welcome screen. */
export async function onboardingTab(view) {
  const cid = view.communityId;
  const ob = await onboarding(cid, { fresh: true });
  const [chans, roles] = await Promise.all([
    R.communities.channels(cid),
    R.communities.roles(cid),
  ]);
  const rules = field('Rules (Markdown)', { name: 'rules', multiline: true, rows: 6, maxlength: 6000, value: ob.rules });
  const welcome = field('Welcome message (Markdown)', { name: 'welcome', multiline: true, rows: 3, maxlength: 1000, value: ob.welcome });
  const minutes = field('Minutes', { name: 'min_minutes', type: 'number', value: String(ob.min_minutes) }, 'For the account or membership age levels.');
  const require = h('input', { type: 'checkbox', id: 'ob-require', checked: ob.require_rules });
  const level = h('select', { id: 'ob-level', name: 'verification' },
    [['none', 'None'], ['email', 'Verified email'], ['account_age', 'Account older than…'], ['member_age', 'Member for longer than…']]
      .map(([v, t]) => h('option', { value: v, selected: v === ob.verification }, t)));
  const picked = new Set(ob.channels.map((c) => c.channel_id));
  const offered = new Set(ob.self_roles.map((r) => r.id));
  const chanBoxes = chans.channels.filter((c) => c.kind !== 'category').map((c) => h('label', { class: 'cs-radio' },
    h('input', { type: 'checkbox', name: 'ob-channel', value: c.id, checked: picked.has(c.id) }), ` #${c.name}`));
  const canRoles = holds(view.perms, 'MANAGE_ROLES');
  const roleBoxes = roles.roles.filter((r) => r.id !== cid).map((r) => h('label', { class: 'cs-radio' },
    h('input', { type: 'checkbox', name: 'ob-role', value: r.id, checked: offered.has(r.id), disabled: !canRoles }), ` ${r.name}`));
  const errors = banner();
  const form = h('form', { class: 'cs-form', novalidate: true, 'aria-label': 'Onboarding' },
    errors, welcome.row, rules.row,
    h('label', { class: 'cs-radio', for: 'ob-require' }, require, ' Members must accept the rules before posting'),
    h('div', { class: 'field' }, h('label', { for: 'ob-level' }, 'Verification level'), level), minutes.row,
    h('fieldset', { class: 'cs-fieldset' }, h('legend', null, 'Recommended channels (up to 5)'), chanBoxes),
    h('fieldset', { class: 'cs-fieldset' }, h('legend', null, 'Self-assignable roles'), roleBoxes.length ? roleBoxes : h('p', { class: 'muted' }, 'Create roles first (Roles tab).')),
    h('div', { class: 'modal-actions' }, submitButton('Save onboarding')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      const checked = (n) => [...form.querySelectorAll(`input[name="${n}"]:checked`)].map((i) => i.value);
      const body = {
        rules: rules.input.value, welcome: welcome.input.value, require_rules: require.checked,
        verification: level.value, min_minutes: Number(minutes.input.value) || 0,
        channels: checked('ob-channel').map((id) => ({ channel_id: id })),
        self_roles: canRoles ? checked('ob-role') : ob.self_roles.map((r) => r.id),
      };
      try {
        remember(await R.communities.setOnboarding(cid, body));
        errors.textContent = '';
        announce('Onboarding saved.');
      } catch (err) {
        showError(err, { rules, welcome, min_minutes: minutes }, errors);
      }
    });
  });
  replace(view.body, form);
}
