// Proof of work for sign-up (the node's side: plugins/users/signup_defences.py). Find a nonce such
// that SHA-256 of "<challenge>:<nonce>" starts with `bits` zero bits. It runs in a Web Worker when it
// can, so the page stays responsive; with crypto.subtle where the browser has it (secure contexts:
// https, localhost), else with the small SHA-256 below (a node on plain http in a LAN).

const encoder = new TextEncoder();

/** How many leading zero bits a digest (ArrayBuffer or Uint8Array) has. */
export function zeroBits(digest) {
  const bytes = new Uint8Array(digest);
  let n = 0;
  for (const b of bytes) {
    if (b === 0) { n += 8; continue; }
    return n + Math.clz32(b) - 24;
  }
  return n;
}

/** Try nonces 0, 1, 2, … in batches; resolves with the first that has enough zero bits. */
export async function search(challenge, bits, batch = 512) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  for (let n = 0; ; n += batch) {
    const inputs = [];
    for (let i = 0; i < batch; i++) inputs.push(encoder.encode(`${challenge}:${n + i}`));
    const digests = subtle ? await Promise.all(inputs.map((b) => subtle.digest('SHA-256', b))) : inputs.map(sha256);
    for (let i = 0; i < batch; i++) if (zeroBits(digests[i]) >= bits) return String(n + i);
    if (!subtle) await new Promise((resolve) => setTimeout(resolve, 0)); // let the page breathe
  }
}

/** Solve off the main thread when a module worker can start, else here. */
export function solve(challenge, bits) {
  if (typeof Worker !== 'function' || typeof document === 'undefined') return search(challenge, bits);
  return new Promise((resolve, reject) => {
    let worker;
    try {
      worker = new Worker(new URL('./pow-worker.js', import.meta.url), { type: 'module' });
    } catch {
      search(challenge, bits).then(resolve, reject);
      return;
    }
    worker.onmessage = (e) => { worker.terminate(); resolve(e.data.nonce); };
    worker.onerror = (e) => {
      e.preventDefault();
      worker.terminate();
      search(challenge, bits).then(resolve, reject);
    };
    worker.postMessage({ challenge, bits });
  });
}

// SHA-256 (FIPS 180-4) for browsers without crypto.subtle; messages here are short.
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export function sha256(message) {
  const bitLength = message.length * 8;
  const blocks = Math.ceil((message.length + 9) / 64);
  const data = new Uint8Array(blocks * 64);
  data.set(message);
  data[message.length] = 0x80;
  const view = new DataView(data.buffer);
  view.setUint32(data.length - 8, Math.floor(bitLength / 2 ** 32));
  view.setUint32(data.length - 4, bitLength >>> 0);
  const hash = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let offset = 0; offset < data.length; offset += 64) {
    for (let t = 0; t < 16; t++) w[t] = view.getUint32(offset + t * 4);
    for (let t = 16; t < 64; t++) {
      const s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >>> 3);
      const s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >>> 10);
      w[t] = (w[t - 16] + s0 + w[t - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, h] = hash;
    for (let t = 0; t < 64; t++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      h = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    hash[0] += a; hash[1] += b; hash[2] += c; hash[3] += d; hash[4] += e; hash[5] += f; hash[6] += g; hash[7] += h;
  }
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) outView.setUint32(i * 4, hash[i]);
  return out;
}
