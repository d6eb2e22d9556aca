// Whether an invite can still be used, in the words its page shows (revoked, expired, used up).

/** Why the invite can no longer be accepted, or null while it still can. */
export function inviteDeadReason(inv, now = Date.now()) {
  if (inv.revoked) return 'This invite was revoked.';
  if (inv.expires_at != null && inv.expires_at <= now) return 'This invite has expired.';
  if (inv.max_uses != null && inv.uses >= inv.max_uses) return 'This invite has been used as many times as it allows.';
  return null;
}
