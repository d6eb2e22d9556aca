-- Invites as governance events: a join to a private community proves its right with the code of an
-- invite that an invite.create event made (by a member allowed to CREATE_INVITES at that point),
-- unrevoked, unexpired and with uses left at the join's place in the order. The code itself stays
-- with whoever holds it; the event names sha256(code), so a peer cannot mint a join from the event.
CREATE TABLE community_invite_grants (
    id           TEXT PRIMARY KEY,                -- hex sha256 of the code, first 32 digits
    community_id TEXT NOT NULL,
    creator_id   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,                -- ms, the event's clock
    expires_at   INTEGER,                         -- ms; NULL never
    max_uses     INTEGER,                         -- NULL unlimited
    uses         INTEGER NOT NULL DEFAULT 0,
    revoked      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX community_invite_grants_by_community ON community_invite_grants (community_id);
-- A node's own invite codes point at their grant (uses and revocation as every node sees them).
ALTER TABLE community_invites ADD COLUMN grant_id TEXT;
