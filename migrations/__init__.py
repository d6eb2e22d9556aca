"""Core SQL migrations (NNNN_name.sql), shipped in the wheel as cryb_migrations."""
