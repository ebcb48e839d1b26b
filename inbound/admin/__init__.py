"""The admin listener (DESIGN §11): metrics, health, a JSON API and a web page for operators.

``server.py`` is the one aiohttp user (routes, cookies, start/stop on the running loop);
``api.py`` answers in plain dicts from the outbox Protocols; ``page.py`` renders the HTML;
``auth.py`` holds the token, session-cookie and CSRF rules; ``files.py`` signs and checks
the expiring URLs of large attachments kept in the local store.
"""
