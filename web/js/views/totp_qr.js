// The 2FA enrolment's QR code: the SVG the node drew (segno) for the otpauth URI, shown as an image
// (an <img> runs no script from the SVG), for an authenticator app to scan.

import { h } from '../dom.js';

export function totpQr(enrolment) {
  if (!enrolment.qr_svg) return null;
  return h('figure', { class: 'totp-qr' },
    h('img', {
      src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrolment.qr_svg)}`,
      alt: 'QR code to scan with your authenticator app',
      width: 180, height: 180,
    }),
    h('figcaption', { class: 'muted' }, 'Scan with your authenticator app, or type the key below.'));
}
