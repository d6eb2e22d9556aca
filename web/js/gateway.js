// The realtime gateway client (protocol: docs/gateway.md): IDENTIFY, heartbeats, and after any drop a
// reconnect with RESUME so missed dispatches are replayed; if the session is gone (INVALID_SESSION) it
// identifies again and tells the app to fetch what it missed over HTTP.

import { refresh, token } from './api.js';

const NO_RESUME = new Set([4001, 4002, 4005]); // client bugs: start a fresh session

export class Gateway extends EventTarget {
  constructor() {
    super();
    this.ws = null;
    this.sessionId = null;
    this.seq = null;
    this.state = 'idle'; // idle | connecting | ready | waiting | stopped
    this.attempt = 0;
    this.heartbeat = null;
    this.acked = true;
    this.retryTimer = null;
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => {
      // The device says it is offline: the socket is gone now, whether or not its closing handshake
      // can still get through (it may not, and the page would look connected until it timed out).
      const ws = this.ws;
      if (!ws) return;
      ws.close(4000, 'offline');
      this.closed(ws, 4000);
    };
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setState(state) {
    this.state = state;
    this.emit('state', state);
  }

  start() {
    if (this.state === 'stopped') return;
    clearTimeout(this.retryTimer);
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/gateway`);
    this.ws = ws;
    this.setState('connecting');
    ws.onmessage = (ev) => this.receive(ws, ev.data);
    ws.onclose = (ev) => this.closed(ws, ev.code);
    ws.onerror = () => {};
  }

  stop() {
    this.setState('stopped');
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    if (this.ws) this.ws.close(1000, 'bye');
  }

  send(op, d) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.state === 'ready') {
      this.ws.send(JSON.stringify({ op, d }));
      return true;
    }
    return false;
  }

  reconnectNow() {
    if (this.state === 'waiting') {
      this.attempt = 0;
      this.start();
    }
  }

  receive(ws, raw) {
    if (ws !== this.ws) return;
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    switch (frame.op) {
      case 'HELLO':
        this.beginHeartbeat(frame.d.heartbeat_interval_ms);
        if (this.sessionId !== null) {
          ws.send(JSON.stringify({ op: 'RESUME', d: { token: token(), session_id: this.sessionId, seq: this.seq ?? 0 } }));
        } else {
          ws.send(JSON.stringify({ op: 'IDENTIFY', d: { token: token() } }));
        }
        break;
      case 'READY':
        this.sessionId = frame.d.session_id;
        this.seq = null;
        this.attempt = 0;
        this.setState('ready');
        this.emit('ready', frame.d);
        break;
      case 'RESUMED':
        this.attempt = 0;
        this.setState('ready');
        this.emit('resumed', frame.d);
        break;
      case 'INVALID_SESSION':
        // The node waits for IDENTIFY on this same socket; the app refetches after READY.
        this.sessionId = null;
        this.seq = null;
        this.emit('invalid', frame.d);
        ws.send(JSON.stringify({ op: 'IDENTIFY', d: { token: token() } }));
        break;
      case 'HEARTBEAT_ACK':
        this.acked = true;
        break;
      case 'DISPATCH':
        if (typeof frame.s === 'number') this.seq = frame.s;
        this.emit('dispatch', { t: frame.t, d: frame.d });
        break;
      default:
        break;
    }
  }

  beginHeartbeat(intervalMs) {
    clearInterval(this.heartbeat);
    this.acked = true;
    this.heartbeat = setInterval(() => {
      if (!this.acked) {
        // No ACK since the last beat: the connection is dead even if the socket has not noticed.
        this.ws && this.ws.close(4000, 'zombie');
        return;
      }
      this.acked = false;
      this.ws && this.ws.readyState === WebSocket.OPEN && this.ws.send(JSON.stringify({ op: 'HEARTBEAT', d: this.seq }));
    }, intervalMs);
  }

  async closed(ws, code) {
    if (ws !== this.ws) return;
    this.ws = null; // its own close event, when it comes, finds nothing left to do
    clearInterval(this.heartbeat);
    if (this.state === 'stopped') return;
    this.setState('waiting');
    if (NO_RESUME.has(code)) {
      this.sessionId = null;
      this.seq = null;
    }
    if (code === 4004) {
      try {
        await refresh();
      } catch {
        // Unless the page stopped this gateway meanwhile (it signed out on its own, say after
        // deleting the account, and shows why): then this late word would only draw that again.
        if (this.state !== 'stopped') this.emit('signed-out');
        return;
      }
      if (this.state === 'stopped') return;
    }
    this.attempt += 1;
    // Back off 0.5 s, 1 s, 2 s ... up to 15 s, with jitter so clients do not return in lock-step.
    const delay = Math.min(15000, 500 * 2 ** (this.attempt - 1)) * (0.7 + Math.random() * 0.6);
    if (navigator.onLine === false) return; // the 'online' event reconnects
    this.retryTimer = setTimeout(() => this.start(), this.attempt === 1 ? 100 : delay);
  }
}
