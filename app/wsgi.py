"""The WSGI entry point gunicorn serves: `app.wsgi:application`, built from the environment."""

from models.config import Settings, configure

settings = configure(Settings.from_env())

from app.factory import create_app  # noqa: E402 (imports the actors, set up from these settings)

application = create_app(settings)
