"""Platform adapters (Telegram, Discord, console) and the shared command logic."""
