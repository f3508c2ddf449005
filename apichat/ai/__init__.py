"""Testing bots that answer with AI: how alike two replies are (similarity), and later judges.

Nothing here reads a scenario; scenarios, the explorer and the chat call into it. `ask` (the chat's "Ask N
times") is the one module that sends, through the outbox, and reads the replies from the store.
"""
