"""newsbot: a newsroom's posts as push alerts on Telegram and Discord."""
