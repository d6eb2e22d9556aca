// BlurHash (https://blurha.sh) decoding: the media plugin stores a 4x3-component hash of every image;
// drawn small on a canvas it is the blurred placeholder shown until the thumbnail arrives.

const CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~';
const cache = new Map();

function decode83(str) {
  let value = 0;
  for (const c of str) {
    const digit = CHARS.indexOf(c);
    if (digit < 0) throw new Error('not a BlurHash');
    value = value * 83 + digit;
  }
  return value;
}

const toLinear = (v) => { const x = v / 255; return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
const toSRGB = (v) => { const x = Math.max(0, Math.min(1, v)); return Math.round(x <= 0.0031308 ? x * 12.92 * 255 : (1.055 * x ** (1 / 2.4) - 0.055) * 255); };
const signPow = (v, e) => Math.sign(v) * Math.abs(v) ** e;

/** RGBA pixels (width x height) of a BlurHash. */
export function decode(hash, width, height) {
  const size = decode83(hash[0]);
  const nx = (size % 9) + 1;
  const ny = Math.floor(size / 9) + 1;
  if (hash.length !== 4 + 2 * nx * ny) throw new Error('not a BlurHash');
  const max = (decode83(hash[1]) + 1) / 166;
  const colors = [];
  const dc = decode83(hash.slice(2, 6));
  colors.push([toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]);
  for (let i = 1; i < nx * ny; i++) {
    const v = decode83(hash.slice(4 + i * 2, 6 + i * 2));
    const q = [Math.floor(v / (19 * 19)), Math.floor(v / 19) % 19, v % 19];
    colors.push(q.map((c) => signPow((c - 9) / 9, 2) * max));
  }
  const px = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0; let g = 0; let b = 0;
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const basis = Math.cos((Math.PI * x * i) / width) * Math.cos((Math.PI * y * j) / height);
          const c = colors[i + j * nx];
          r += c[0] * basis; g += c[1] * basis; b += c[2] * basis;
        }
      }
      const o = 4 * (x + y * width);
      px[o] = toSRGB(r); px[o + 1] = toSRGB(g); px[o + 2] = toSRGB(b); px[o + 3] = 255;
    }
  }
  return px;
}

/** A small PNG data: URL of the hash (the CSP allows data: images), or null if it is not one. */
export function placeholderURL(hash, width = 32, height = 32) {
  const key = `${hash}/${width}x${height}`;
  if (cache.has(key)) return cache.get(key);
  let url = null;
  try {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d');
    ctx.putImageData(new ImageData(decode(hash, width, height), width, height), 0, 0);
    url = canvas.toDataURL();
  } catch {
    url = null;
  }
  cache.set(key, url);
  return url;
}
