"""The console's pages: Streamlit scripts that only draw (app.py navigates them; nothing imports them)."""
