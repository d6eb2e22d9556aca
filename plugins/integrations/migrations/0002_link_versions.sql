-- Which version of each message's or post's text its links (integ_links) come from: an edit
-- replaces them only if it is newer (by hlc) and by the same author, so edits arriving in any
-- order leave the links of the newest one.
CREATE TABLE integ_link_versions (
    target_id TEXT PRIMARY KEY,
    hlc       INTEGER NOT NULL,
    author_id TEXT
) STRICT;
