"""The realtime gateway: WebSocket sessions at /gateway, permission-filtered fan-out, resume,
presence and typing. Protocol: docs/gateway.md."""
