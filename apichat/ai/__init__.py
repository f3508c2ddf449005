"""Testing bots that answer with AI: how alike two replies are (similarity), and later judges.

Nothing here reads a scenario or the store; scenarios, the explorer and the chat call into it.
"""
