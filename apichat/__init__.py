"""The domain of the API Chat console: payloads, signing, store, clients, config.

Nothing here imports Flask or Streamlit, so the receiver, the sandbox and the UI share it.
"""
