"""Stevora's HTTP API (Falcon, WSGI): `app.factory.create_app`, served as `app.wsgi:application`."""
