"""The sandbox's demo bot: a chat page where a person plays a chatbot's end user.

It talks to the portal only the way a real bot would: the bot API over HTTP with a bot key, and
signed callbacks received at its own URL. Nothing here imports the portal's escalation code.
"""
