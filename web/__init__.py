"""The browser UI's static files, shipped in the wheel as cryb_web (served, never imported for code)."""
