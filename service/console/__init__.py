"""The web console: static assets served at ``/console`` under a strict Content-Security-Policy.

Everything the console does happens in the browser (keys, signing, decryption, verification);
the server only hands out files. This package imports only FastAPI/Starlette.
"""

from service.console.routes import CONSOLE_CSP, install_console

__all__ = ["CONSOLE_CSP", "install_console"]
