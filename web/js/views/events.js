// A community's Events page (/channels/<community>/@events): upcoming scheduled events with their
// times in the viewer's own time zone, RSVP buttons and counts, the plan form for members with
// Manage events (time zone defaulting to the browser's), and the iCal feed's address. Open pages
// follow SCHEDULED_EVENT_UPDATE dispatches, so a new event or an answer shows at once.

import * as api from '../api.js';
import * as R from '../content.js';
import { announce, h, replace } from '../dom.js';
import { holds } from '../perms.js';
import * as store from '../store.js';
import { upload } from './attachments.js';
import { confirmDialog } from './dialogs.js';
import { morph } from './keyed.js';
import { field, banner, showError, busy, submitButton } from './forms.js';

const { state } = store;
const enc = encodeURIComponent;
const viewerZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

function zones() {
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const here = viewerZone();
  return all.includes(here) ? all : [here, ...all];
}

/** "Tue, 24 Dec 2031, 18:00" in the viewer's zone (or in ``timeZone``). */
function when(iso, timeZone) {
  return new Intl.DateTimeFormat(undefined, {
    weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone,
  }).format(new Date(iso));
}

function sameWallTime(ev) {
  return when(ev.start, ev.time_zone) === when(ev.start, viewerZone());
}

export class EventsView {
  constructor(shell, communityId) {
    this.shell = shell;
    this.communityId = communityId;
    this.channelId = '@events';
    this.events = new Map();
    this.community = state.communities.get(communityId);
    this.list = h('ol', { class: 'event-list', 'aria-label': 'Upcoming events' });
    this.formSlot = h('div');
    const feed = R.events.feedUrl(communityId);
    const canPlan = this.canPlan();
    this.el = h('div', { class: 'chat-view events-view' },
      shell.header(h('h2', { class: 'channel-title' }, `Events · ${this.community?.name || ''}`)),
      h('div', { class: 'scroller pane-scroller' },
        h('div', { class: 'events-actions' },
          canPlan ? h('button', { class: 'btn primary', onclick: () => this.showForm() }, 'Create event') : null,
          this.community?.public === false
            // A private community's feed needs the member's sign-in, which a calendar app does not
            // have: the file is downloaded instead of subscribed to.
            ? h('button', { class: 'btn', onclick: () => this.download(feed) }, 'Download calendar (.ics)')
            : h('a', { class: 'btn', href: feed, title: 'Subscribe in a calendar app (iCal)' }, 'Calendar feed (iCal)')),
        this.formSlot,
        h('p', { class: 'muted events-zone' }, `Times are shown in your time zone (${viewerZone()}).`),
        this.list));
    this.onDispatch = (e) => {
      const { t, d } = e.detail;
      if (t !== 'SCHEDULED_EVENT_UPDATE' || d.community_id !== this.communityId) return;
      this.events.set(d.id, d);
      this.render();
    };
    shell.gateway?.addEventListener('dispatch', this.onDispatch);
    this.unsubUsers = store.on('users', () => this.render());
  }

  destroy() {
    this.shell.gateway?.removeEventListener('dispatch', this.onDispatch);
    this.unsubUsers();
  }

  focusComposer() {}
  flushOutbox() {}
  catchUp() { this.load(); }

  canPlan() {
    return holds(this.community?.perms || 0, 'MANAGE_EVENTS');
  }

  async load() {
    try {
      const out = await R.events.list(this.communityId);
      this.events = new Map(out.events.map((ev) => [ev.id, ev]));
      this.render();
    } catch (err) {
      replace(this.list, h('li', { role: 'alert' }, err.message));
    }
  }

  render() {
    const now = Date.now();
    const shown = [...this.events.values()]
      .filter((ev) => ev.status !== 'completed' && new Date(ev.end || ev.start).getTime() + (ev.end ? 0 : 3600e3) > now)
      .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    if (!shown.length) {
      morph(this.list, [h('li', { class: 'muted empty' }, 'No upcoming events yet.')]);
      return;
    }
    // keyed.js: a live update arriving between mousedown and mouseup does not swallow the click
    morph(this.list, shown.map((ev) => this.card(ev)));
  }

  card(ev) {
    const cancelled = ev.status === 'cancelled';
    const place = ev.channel_id
      ? h('a', { href: `/channels/${enc(this.communityId)}/${enc(ev.channel_id)}`, onclick: (e) => { e.preventDefault(); this.shell.navigate(`/channels/${this.communityId}/${ev.channel_id}`); } }, store.channelName(ev.channel_id))
      : ev.location_text;
    const answer = (status) => {
      const pressed = ev.my_rsvp === status;
      return h('button', {
        class: `btn small${pressed ? ' primary' : ''}`, 'aria-pressed': String(pressed), disabled: cancelled,
        onclick: () => this.rsvp(ev, pressed ? 'none' : status),
      }, status === 'going' ? 'Going' : 'Interested');
    };
    const going = ev.going.map((id) => store.displayName(id));
    return h('li', { class: `event-card${cancelled ? ' cancelled' : ''}`, id: `event-${ev.id}` },
      h('article', { 'aria-label': ev.title },
        ev.cover_url ? h('img', { class: 'event-cover', src: new URL(ev.cover_url, location.origin).pathname, alt: '' }) : null,
        h('p', { class: 'event-when' },
          h('time', { datetime: ev.start }, when(ev.start)),
          sameWallTime(ev) ? null : h('span', { class: 'muted' }, ` · ${when(ev.start, ev.time_zone)} in ${ev.time_zone}`),
          ev.status === 'active' ? h('span', { class: 'event-badge' }, 'Happening now') : null,
          cancelled ? h('span', { class: 'event-badge cancelled' }, 'Cancelled') : null),
        h('h3', { class: 'event-title' }, ev.title),
        place ? h('p', { class: 'event-place' }, 'Where: ', place) : null,
        ev.description ? h('p', { class: 'event-desc' }, ev.description) : null,
        h('p', { class: 'event-counts', 'data-testid': 'event-counts' },
          `${ev.going_count} going · ${ev.interested_count} interested`),
        going.length ? h('p', { class: 'muted event-going' }, `Going: ${going.join(', ')}`) : null,
        h('div', { class: 'event-buttons', role: 'group', 'aria-label': `Your answer for ${ev.title}` },
          answer('going'), answer('interested'),
          this.canPlan() && !cancelled ? h('button', { class: 'btn small', onclick: () => this.showForm(ev) }, 'Edit') : null,
          this.canPlan() && !cancelled ? h('button', { class: 'btn small danger', onclick: () => this.cancel(ev) }, 'Cancel event') : null)));
  }

  async download(feed) {
    try {
      const resp = await fetch(feed, { headers: { Authorization: `Bearer ${api.token()}` } });
      if (!resp.ok) throw new Error(`The calendar could not be fetched (${resp.status}).`);
      const url = URL.createObjectURL(await resp.blob());
      const a = h('a', { href: url, download: `${this.community?.name || 'events'}.ics` });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      announce(err.message);
    }
  }

  async rsvp(ev, status) {
    try {
      const out = await R.events.rsvp(ev.id, { status });
      this.events.set(out.id, out);
      this.render();
      announce(status === 'none' ? 'Answer removed.' : `You are ${status === 'going' ? 'going' : 'interested'}.`);
    } catch (err) {
      announce(err.message);
    }
  }

  async cancel(ev) {
    if (!await confirmDialog('Cancel this event?', `“${ev.title}” is cancelled for everyone; this cannot be undone.`, 'Cancel event')) return;
    try {
      const out = await R.events.cancel(ev.id);
      this.events.set(out.id, out);
      this.render();
    } catch (err) {
      announce(err.message);
    }
  }

  /** The plan form; with ``ev``, the same form filled in to edit that event. */
  showForm(ev = null) {
    if (this.formSlot.firstChild && this.formSlot.firstChild.dataset.editing === (ev ? ev.id : '')) {
      this.formSlot.querySelector('input')?.focus();
      return;
    }
    const wall = (local) => (local ? local.slice(0, 16) : undefined); // "2031-12-24T18:00"
    const f = {
      title: field('Title', { required: true, maxlength: 100, value: ev?.title }),
      start: field('Starts', { type: 'datetime-local', required: true, value: wall(ev?.local_start) }),
      end: field('Ends (optional)', { type: 'datetime-local', value: wall(ev?.local_end) }),
      location_text: field('Where (a place, or pick a channel below)', { maxlength: 200, value: ev?.location_text || undefined }),
      description: field('Description', { multiline: true, rows: 3, maxlength: 2000 }),
    };
    if (ev) f.description.input.value = ev.description;
    const zoneNow = ev ? ev.time_zone : viewerZone();
    const zoneId = 'event-zone';
    const zone = h('select', { id: zoneId, name: 'time_zone' },
      [...new Set([zoneNow, ...zones()])].map((z) => h('option', { value: z, selected: z === zoneNow }, z)));
    const channels = (state.channels.get(this.communityId) || []).filter((c) => c.kind !== 'category');
    const channel = h('select', { id: 'event-channel', name: 'channel_id' },
      h('option', { value: '' }, 'No channel'),
      channels.map((c) => h('option', { value: c.id, selected: ev?.channel_id === c.id }, `#${c.name}`)));
    let coverId = null;
    const coverStatus = h('p', { class: 'field-hint', role: 'status' });
    const cover = h('input', { type: 'file', id: 'event-cover', accept: 'image/*' });
    cover.addEventListener('change', async () => {
      if (!cover.files[0]) return;
      try {
        coverStatus.textContent = 'Uploading…';
        coverId = (await upload(cover.files[0], () => {}).done).id;
        coverStatus.textContent = 'Uploaded.';
      } catch (err) {
        coverId = null;
        coverStatus.textContent = err.message;
      }
    });
    const problem = banner();
    const label = ev ? `Edit ${ev.title}` : 'New event';
    const form = h('form', { class: 'cs-form event-form', novalidate: true, 'aria-label': label, dataset: { editing: ev ? ev.id : '' } },
      f.title.row,
      h('div', { class: 'event-times' }, f.start.row, f.end.row),
      h('div', { class: 'field' }, h('label', { for: zoneId }, 'Time zone'), zone),
      f.location_text.row,
      h('div', { class: 'field' }, h('label', { for: 'event-channel' }, 'Channel'), channel),
      f.description.row,
      h('div', { class: 'field' }, h('label', { for: 'event-cover' }, 'Cover image (optional)'), cover, coverStatus),
      problem,
      h('div', { class: 'events-actions' }, submitButton(ev ? 'Save changes' : 'Create event'),
        h('button', { type: 'button', class: 'btn', onclick: () => replace(this.formSlot) }, 'Close')));
    f.time_zone = { input: zone, setError: (m) => { problem.textContent = m || ''; } };
    f.channel_id = { input: channel, setError: (m) => { problem.textContent = m || ''; } };
    f.cover_media_id = { input: cover, setError: (m) => { coverStatus.textContent = m || ''; } };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!f.title.input.value.trim()) { f.title.setError('Give the event a title.'); f.title.input.focus(); return; }
      if (!f.start.input.value) { f.start.setError('Pick when it starts.'); f.start.input.focus(); return; }
      const body = {
        title: f.title.input.value.trim(),
        description: f.description.input.value,
        start: f.start.input.value,
        time_zone: zone.value,
      };
      const place = f.location_text.input.value.trim();
      if (ev) {
        // An edit says what each field is now (an emptied one is cleared).
        body.end = f.end.input.value || null;
        body.channel_id = channel.value || null;
        body.location_text = channel.value || !place ? null : place;
      } else {
        if (f.end.input.value) body.end = f.end.input.value;
        if (channel.value) body.channel_id = channel.value;
        else if (place) body.location_text = place;
      }
      if (coverId) body.cover_media_id = coverId;
      busy(form, async () => {
        try {
          const out = ev
            ? await R.events.update(ev.id, body)
            : await R.events.create(this.communityId, body);
          this.events.set(out.id, out);
          replace(this.formSlot);
          this.render();
          announce(ev ? `Event “${out.title}” saved.` : `Event “${out.title}” created.`);
        } catch (err) {
          showError(err, f, problem);
        }
      });
    });
    replace(this.formSlot, form);
    form.scrollIntoView({ block: 'nearest' });
    f.title.input.focus();
  }
}

