// sfu mode (docs/voice.md): the call's media goes through Janus's VideoRoom instead of browser to
// browser. This page publishes its microphone (and camera) once, and subscribes to each other
// participant's feed; the node made the room and gave us a one-off token it admits. Janus's HTTP API
// is spoken through the node (/api/v1/voice/janus: a session, a long poll for its events, one handle
// per peer connection), which forwards only a participant's requests and only to their own session.

import { token } from './api.js';

const PLUGIN = 'janus.plugin.videoroom';

export class SfuLink {
  constructor(call, { url, room, token }) {
    this.call = call;
    this.url = url.replace(/\/$/, '');
    this.room = room;
    this.token = token;
    this.session = null;
    this.pub = null; // { handle, pc }
    this.subs = new Map(); // feed id -> { handle, userId }
    this.handlers = new Map(); // handle id -> fn(event)
    this.closed = false;
  }

  async post(path, body) {
    const res = await fetch(this.url + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token()}` },
      body: JSON.stringify({ ...body, transaction: Math.random().toString(36).slice(2) }),
    });
    const out = await res.json();
    if (out.janus === 'error') throw new Error(out.error?.reason || 'media server error');
    return out;
  }

  async attach(onEvent) {
    const out = await this.post(`/${this.session}`, { janus: 'attach', plugin: PLUGIN });
    this.handlers.set(out.data.id, onEvent);
    return out.data.id;
  }

  message(handle, body, jsep) {
    return this.post(`/${this.session}/${handle}`, { janus: 'message', body, ...(jsep ? { jsep } : {}) });
  }

  trickle(handle, pc) {
    pc.onicecandidate = ({ candidate }) => {
      this.post(`/${this.session}/${handle}`, { janus: 'trickle', candidate: candidate ? candidate.toJSON() : { completed: true } }).catch(() => {});
    };
  }

  async start() {
    this.session = (await this.post('', { janus: 'create' })).data.id;
    this.poll();
    const handle = await this.attach((ev) => this.onPublisherEvent(ev));
    const pc = new RTCPeerConnection({ iceServers: this.call.iceServers });
    this.pub = { handle, pc, audioSender: null };
    this.trickle(handle, pc);
    const audio = this.call.local?.getAudioTracks()[0];
    if (audio) this.pub.audioSender = pc.addTrack(audio, this.call.local);
    for (const track of this.call.video?.getVideoTracks() || []) pc.addTrack(track, this.call.video);
    this.call.applySend(this.pub);
    await pc.setLocalDescription();
    await this.message(handle, { request: 'joinandconfigure', room: this.room, ptype: 'publisher', display: this.call.me, token: this.token, audio: true, video: true }, { type: 'offer', sdp: pc.localDescription.sdp });
  }

  /** Janus's events for this session, by long poll, until the call ends. */
  async poll() {
    while (!this.closed) {
      let events;
      try {
        const res = await fetch(`${this.url}/${this.session}`, { headers: { Authorization: `Bearer ${token()}` } });
        events = await res.json();
      } catch {
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      for (const ev of Array.isArray(events) ? events : [events]) {
        const fn = this.handlers.get(ev.sender);
        if (fn && ev.janus === 'event') fn(ev);
        if (fn && ev.janus === 'hangup' && this.subs.size === 0 && ev.sender === this.pub?.handle) this.call.emit('error', 'The media server ended the call.');
      }
    }
  }

  onPublisherEvent(ev) {
    this.publisherEvent(ev).catch((err) => this.call.emit('error', err.message));
  }

  async publisherEvent(ev) {
    const data = ev.plugindata?.data || {};
    if (ev.jsep && ev.jsep.type === 'answer') await this.pub.pc.setRemoteDescription(ev.jsep);
    for (const p of data.publishers || []) this.subscribe(p).catch((err) => this.call.emit('error', err.message));
    const gone = data.unpublished || data.leaving;
    if (gone && gone !== 'ok') this.unsubscribe(gone);
    // Janus's later complaints (one 'Unexpected ANSWER' after a participant leaves: docs/voice.md,
    // not done) do not stop the call: logged, not shown.
    if (data.error) console.warn('janus:', data.error);
  }

  async subscribe(p) {
    if (this.subs.has(p.id) || p.display === this.call.me) return;
    const sub = { userId: p.display, handle: null };
    this.subs.set(p.id, sub);
    sub.handle = await this.attach((ev) => this.onSubscriberEvent(sub, ev).catch((err) => this.call.emit('error', err.message)));
    await this.message(sub.handle, { request: 'join', room: this.room, ptype: 'subscriber', streams: [{ feed: p.id }], token: this.token });
  }

  /** Janus offers the feed (and offers again when it changes): answer on the same connection. */
  async onSubscriberEvent(sub, ev) {
    if (!ev.jsep || ev.jsep.type !== 'offer') return;
    let peer = this.call.peers.get(sub.userId);
    if (!peer || peer.handle !== sub.handle) {
      peer = this.call.sfuPeer(sub.userId);
      peer.handle = sub.handle;
      this.trickle(sub.handle, peer.pc);
    }
    if (peer.pc.remoteDescription?.sdp === ev.jsep.sdp) return; // the same offer, told twice
    const renegotiation = !!peer.pc.remoteDescription;
    await peer.pc.setRemoteDescription(ev.jsep);
    await peer.pc.setLocalDescription();
    try {
      await this.message(sub.handle, { request: 'start', room: this.room }, { type: 'answer', sdp: peer.pc.localDescription.sdp });
    } catch (err) {
      // Janus offers (or offers again) a feed whose publisher is leaving (a ban, a disconnect), then
      // drops it before our answer lands and calls the answer unexpected: nothing is lost, the
      // feed's 'unpublished' event closes it. (Seen under load as a first offer too.)
      if (!renegotiation && !/Unexpected ANSWER/.test(err.message)) throw err;
      console.warn('janus:', err.message);
    }
  }

  unsubscribe(feedId) {
    const sub = this.subs.get(feedId);
    if (!sub) return;
    this.subs.delete(feedId);
    this.post(`/${this.session}/${sub.handle}`, { janus: 'detach' }).catch(() => {});
    this.call.closePeer(sub.userId);
  }

  /** The camera or screen changed: publish again with the new tracks. */
  async renegotiate() {
    const pc = this.pub.pc;
    const senders = pc.getSenders();
    for (const s of senders) if (s.track && s.track.kind === 'video' && s.track !== this.call.video?.getVideoTracks()[0]) pc.removeTrack(s);
    for (const track of this.call.video?.getVideoTracks() || []) if (!senders.some((s) => s.track === track)) pc.addTrack(track, this.call.video);
    await pc.setLocalDescription(await pc.createOffer());
    await this.message(this.pub.handle, { request: 'configure', audio: true, video: true }, { type: 'offer', sdp: pc.localDescription.sdp });
  }

  close() {
    this.closed = true;
    this.pub?.pc.close();
    if (this.session) this.post(`/${this.session}`, { janus: 'destroy' }).catch(() => {});
  }
}
