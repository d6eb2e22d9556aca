-- A new column that a background backfill fills in batches (cryb_node/backfill.py).
ALTER TABLE demo_notes ADD COLUMN length INTEGER;
