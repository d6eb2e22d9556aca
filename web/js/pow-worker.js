// The sign-up proof of work, solved off the page's main thread (started by pow.js).

import { search } from './pow.js';

self.onmessage = async (e) => {
  const { challenge, bits } = e.data;
  self.postMessage({ nonce: await search(challenge, bits) });
};
