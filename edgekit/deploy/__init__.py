"""Deployment: boards, the KWS firmware, PlatformIO projects, `edgekit deploy`."""
