"""Streamlit helpers shared by the pages: the console's context and the message renderer."""
