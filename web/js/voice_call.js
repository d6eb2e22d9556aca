// One voice call in mesh mode (docs/voice.md): an RTCPeerConnection per other participant, signalled
// through the gateway (VOICE_JOIN / VOICE_SIGNAL / VOICE_STATE). Media goes browser to browser; the
// node only says who is in the channel and relays offers, answers and candidates to the named peer.
// Negotiation follows the "perfect negotiation" pattern: the peer with the smaller user id is polite.

import { SfuLink } from './voice_sfu.js';

const SPEAKING_LEVEL = 0.02; // RMS of the microphone above which we count as speaking

export class VoiceCall extends EventTarget {
  constructor(gateway, me) {
    super();
    this.gateway = gateway;
    this.me = me;
    this.channelId = null;
    this.peers = new Map(); // user id -> { pc, makingOffer, ignoreOffer, stream, audio }
    this.states = new Map(); // user id -> voice state
    this.iceServers = [];
    this.local = null; // microphone stream
    this.video = null; // camera or screen stream
    this.videoKind = null; // 'video' | 'screen'
    this.selfMute = false;
    this.selfDeaf = false;
    this.pushToTalk = null; // a KeyboardEvent.code, or null
    this.inputId = localStorage.getItem('voice.input') || '';
    this.outputId = localStorage.getItem('voice.output') || '';
    this.speaking = false;
    this.sentSpeaking = false;
    this.speakSentAt = 0;
    this.level = 0;
    this.onKey = (e) => this.key(e);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  get mine() {
    return this.states.get(this.me);
  }

  /** Open the microphone and ask the node to join; VOICE_READY follows. */
  async join(channelId) {
    if (this.channelId && this.channelId !== channelId) this.teardown();
    if (!this.local) {
      this.local = await navigator.mediaDevices.getUserMedia({ audio: this.inputId ? { deviceId: { exact: this.inputId } } : true });
      this.meter();
    }
    this.applyMute();
    const join = { channel_id: channelId, self_mute: this.selfMute, self_deaf: this.selfDeaf };
    if (this.gateway.send('VOICE_JOIN', join)) return;
    // Not connected yet (the page just opened) or reconnecting: join as soon as the gateway is ready.
    const later = (e) => {
      if (e.detail !== 'ready') return;
      this.gateway.removeEventListener('state', later);
      this.gateway.send('VOICE_JOIN', join);
    };
    this.gateway.addEventListener('state', later);
  }

  leave() {
    this.gateway.send('VOICE_LEAVE', {});
    this.teardown();
    this.stopLocal();
  }

  // -- what the node says -----------------------------------------------------------------------

  dispatch(t, d) {
    if (t === 'VOICE_READY') this.ready(d);
    else if (t === 'VOICE_SIGNAL') this.signal(d).catch((err) => this.emit('error', err.message));
    else if (t === 'VOICE_DISCONNECT') {
      // Our socket dropped (replayed on a resume): views/voice.js joins again once we are back.
      if (d.reason === 'gateway_closed') return;
      if (d.channel_id === this.channelId) {
        this.teardown();
        this.stopLocal();
        this.emit('disconnected', d);
      }
    } else if (t === 'VOICE_STATE_UPDATE' && this.channelId) this.stateChanged(d);
    else if (t === 'VOICE_ERROR') this.emit('error', d.detail);
  }

  ready(d) {
    if (this.channelId && this.channelId !== d.channel_id) this.teardown(); // moved by a moderator
    this.channelId = d.channel_id;
    this.communityId = d.community_id;
    this.iceServers = d.ice_servers || [];
    this.states = new Map(d.states.map((s) => [s.user_id, s]));
    window.addEventListener('keydown', this.onKey);
    window.addEventListener('keyup', this.onKey);
    if (d.sfu) {
      // sfu: one published stream to Janus, one subscription per other participant.
      this.sfu = new SfuLink(this, d.sfu);
      this.sfu.start().catch((err) => this.emit('error', `Media server: ${err.message}`));
    } else {
      // mesh: the one who joins calls everyone already there; they answer.
      for (const s of d.states) if (s.user_id !== this.me) this.peer(s.user_id, true);
    }
    this.applyMute();
    this.emit('change');
  }

  stateChanged(s) {
    if (s.user_id === this.me) {
      if (s.channel_id !== this.channelId) return; // our leave or move: VOICE_DISCONNECT/READY say it
      this.states.set(s.user_id, s);
      this.applyMute();
    } else if (s.channel_id === this.channelId) {
      this.states.set(s.user_id, s);
      this.applyPeer(s.user_id);
    } else if (this.states.has(s.user_id)) {
      this.states.delete(s.user_id);
      this.closePeer(s.user_id);
    }
    this.emit('change');
  }

  // -- peers ------------------------------------------------------------------------------------

  /** sfu: the receiving connection for one participant's feed (Janus offers, we answer). */
  sfuPeer(userId) {
    this.closePeer(userId);
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    const p = { pc, stream: new MediaStream(), audio: new Audio() };
    p.audio.autoplay = true;
    p.audio.srcObject = p.stream;
    if (this.outputId && p.audio.setSinkId) p.audio.setSinkId(this.outputId).catch(() => {});
    pc.ontrack = ({ track }) => {
      p.stream.addTrack(track);
      track.onunmute = () => this.emit('change');
      this.applyPeer(userId);
      this.emit('change');
    };
    this.peers.set(userId, p);
    return p;
  }

  peer(userId, offer) {
    let p = this.peers.get(userId);
    if (p) return p;
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    p = { pc, makingOffer: false, ignoreOffer: false, polite: this.me < userId, stream: new MediaStream(), audio: new Audio() };
    p.audio.autoplay = true;
    p.audio.srcObject = p.stream;
    if (this.outputId && p.audio.setSinkId) p.audio.setSinkId(this.outputId).catch(() => {});
    this.peers.set(userId, p);
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.send(userId, 'candidate', { candidate: candidate.toJSON() });
    };
    pc.ontrack = ({ track }) => {
      p.stream.addTrack(track);
      track.onunmute = () => this.emit('change');
      this.applyPeer(userId);
      this.emit('change');
    };
    pc.onnegotiationneeded = async () => {
      try {
        p.makingOffer = true;
        await pc.setLocalDescription();
        this.send(userId, pc.localDescription.type, { sdp: pc.localDescription.sdp });
      } catch (err) {
        this.emit('error', err.message);
      } finally {
        p.makingOffer = false;
      }
    };
    if (offer) this.addTracks(p); // fires negotiationneeded: our offer goes out
    return p;
  }

  addTracks(p) {
    const senders = p.pc.getSenders();
    const audio = this.local?.getAudioTracks()[0];
    if (audio && !p.audioSender) p.audioSender = p.pc.addTrack(audio, this.local);
    for (const track of this.video?.getVideoTracks() || []) {
      if (!senders.some((s) => s.track === track)) p.pc.addTrack(track, this.video);
    }
    this.applySend(p);
  }

  async signal(d) {
    if (d.channel_id !== this.channelId || this.sfu) return;
    const p = this.peer(d.from, false);
    const pc = p.pc;
    if (d.kind === 'candidate') {
      try {
        await pc.addIceCandidate(d.candidate);
      } catch (err) {
        if (!p.ignoreOffer) throw err;
      }
      return;
    }
    const collision = d.kind === 'offer' && (p.makingOffer || pc.signalingState !== 'stable');
    p.ignoreOffer = !p.polite && collision;
    if (p.ignoreOffer) return;
    await pc.setRemoteDescription({ type: d.kind, sdp: d.sdp });
    if (d.kind === 'offer') {
      this.addTracks(p);
      await pc.setLocalDescription();
      this.send(d.from, 'answer', { sdp: pc.localDescription.sdp });
    }
  }

  send(to, kind, extra) {
    this.gateway.send('VOICE_SIGNAL', { channel_id: this.channelId, to, kind, ...extra });
  }

  closePeer(userId) {
    const p = this.peers.get(userId);
    if (!p) return;
    p.pc.close();
    p.audio.srcObject = null;
    this.peers.delete(userId);
  }

  teardown() {
    this.sfu?.close();
    this.sfu = null;
    for (const id of [...this.peers.keys()]) this.closePeer(id);
    this.states.clear();
    this.channelId = null;
    window.removeEventListener('keydown', this.onKey);
    window.removeEventListener('keyup', this.onKey);
    this.emit('change');
  }

  stopLocal() {
    for (const s of [this.local, this.video]) s?.getTracks().forEach((t) => t.stop());
    this.local = this.video = this.videoKind = null;
    this.audioCtx?.close();
    this.audioCtx = null;
  }

  // -- muting -----------------------------------------------------------------------------------

  /** Whether our microphone may go out now: not self-muted, not server-muted, allowed to speak, and
   * (with push-to-talk) the key held. */
  get transmitting() {
    const s = this.mine;
    if (this.selfMute || (s && (s.mute || s.suppress))) return false;
    return !this.pushToTalk || this.keyHeld;
  }

  applyMute() {
    const on = this.transmitting;
    for (const t of this.local?.getAudioTracks() || []) t.enabled = on;
    for (const p of this.peers.values()) this.applySend(p);
    if (this.sfu?.pub) this.applySend(this.sfu.pub);
    const s = this.mine;
    const deaf = this.selfDeaf || (s && s.deaf);
    for (const id of this.peers.keys()) this.applyPeer(id, deaf);
  }

  /** A server-muted member sends nothing at all (not even silence): their audio sender has no track. */
  applySend(p) {
    if (!p.audioSender) return;
    const s = this.mine;
    const want = s && s.mute ? null : this.local?.getAudioTracks()[0] || null;
    if (p.audioSender.track !== want) p.audioSender.replaceTrack(want).catch(() => {});
  }

  /** Whether we hear a peer: not if we are deafened, nor if a moderator muted them. */
  applyPeer(userId, deaf) {
    const p = this.peers.get(userId);
    if (!p) return;
    const s = this.states.get(userId);
    const me = this.mine;
    const d = deaf ?? (this.selfDeaf || (me && me.deaf));
    p.audio.muted = !!(d || (s && s.mute));
  }

  setSelf({ mute, deaf }) {
    if (mute !== undefined) this.selfMute = mute;
    if (deaf !== undefined) this.selfDeaf = deaf;
    this.applyMute();
    if (this.channelId) this.gateway.send('VOICE_STATE', { self_mute: this.selfMute, self_deaf: this.selfDeaf });
    this.emit('change');
  }

  key(e) {
    if (!this.pushToTalk || e.code !== this.pushToTalk || e.repeat) return;
    const t = e.target;
    const typing = t && (t.isContentEditable || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' ||
      (t.tagName === 'INPUT' && !['checkbox', 'radio', 'button'].includes(t.type)));
    if (typing) return; // the key is a letter in a message then
    e.preventDefault(); // nor does it press a focused button or toggle a checkbox
    this.keyHeld = e.type === 'keydown';
    this.applyMute();
    this.emit('change');
  }

  // -- devices ----------------------------------------------------------------------------------

  async devices() {
    const all = await navigator.mediaDevices.enumerateDevices();
    return { inputs: all.filter((d) => d.kind === 'audioinput'), outputs: all.filter((d) => d.kind === 'audiooutput') };
  }

  async setInput(deviceId) {
    this.inputId = deviceId;
    localStorage.setItem('voice.input', deviceId);
    if (!this.local) return;
    const fresh = await navigator.mediaDevices.getUserMedia({ audio: deviceId ? { deviceId: { exact: deviceId } } : true });
    const old = this.local;
    this.local = fresh;
    for (const p of this.peers.values()) {
      if (p.audioSender) await p.audioSender.replaceTrack(fresh.getAudioTracks()[0]);
    }
    if (this.sfu?.pub?.audioSender) await this.sfu.pub.audioSender.replaceTrack(fresh.getAudioTracks()[0]);
    old.getTracks().forEach((t) => t.stop());
    this.audioCtx?.close();
    this.meter();
    this.applyMute();
  }

  setOutput(deviceId) {
    this.outputId = deviceId;
    localStorage.setItem('voice.output', deviceId);
    for (const p of this.peers.values()) p.audio.setSinkId?.(deviceId).catch(() => {});
  }

  // -- video and screen -------------------------------------------------------------------------

  async setVideo(kind) {
    if (this.video) {
      for (const p of this.peers.values()) {
        for (const s of p.pc.getSenders()) if (s.track && s.track.kind === 'video') p.pc.removeTrack(s);
      }
      this.video.getTracks().forEach((t) => t.stop());
      this.video = null;
    }
    this.videoKind = kind;
    if (kind) {
      this.video = kind === 'screen'
        ? await navigator.mediaDevices.getDisplayMedia({ video: true })
        : await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 } });
      this.video.getVideoTracks()[0].onended = () => this.setVideo(null);
      if (!this.sfu) for (const p of this.peers.values()) this.addTracks(p);
    }
    if (this.sfu?.pub) await this.sfu.renegotiate();
    this.gateway.send('VOICE_STATE', { video: kind === 'video', screen: kind === 'screen' });
    this.emit('change');
  }

  // -- the speaking indicator -------------------------------------------------------------------

  meter() {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC || !this.local) return;
    this.audioCtx = new AC();
    const analyser = this.audioCtx.createAnalyser();
    analyser.fftSize = 512;
    this.audioCtx.createMediaStreamSource(this.local).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    const ctx = this.audioCtx;
    let quietSince = 0;
    const tick = () => {
      if (this.audioCtx !== ctx) return;
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      this.level = Math.sqrt(sum / buf.length);
      const loud = this.level > SPEAKING_LEVEL && this.transmitting;
      const now = performance.now();
      if (loud) quietSince = now;
      const speaking = loud || (this.speaking && now - quietSince < 400);
      if (speaking !== this.speaking) {
        this.speaking = speaking;
        this.emit('change');
      }
      // Others hear of it at most once a second (gateway ops count against the frame budget).
      if (this.channelId && this.sentSpeaking !== this.speaking && now - this.speakSentAt > 1000) {
        this.sentSpeaking = this.speaking;
        this.speakSentAt = now;
        this.gateway.send('VOICE_STATE', { speaking: this.speaking });
      }
      setTimeout(tick, 100);
    };
    tick();
  }
}
