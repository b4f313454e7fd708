"""The live dashboard: a Streamlit app that is a client of the HTTP API only.

`client` speaks to the API, `views` turns its documents into what a panel
shows, and `app` draws them; only `app` imports Streamlit.
"""
