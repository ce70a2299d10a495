"""Local fake platform servers that the real SDK clients talk to over loopback."""
