"""The dashboard page: static HTML, one JavaScript module and a stylesheet, served at `/ui`.

The page calls the Dashboard API from the browser with the customer's own JWT; nothing
here reads the store or the service. See docs/dashboard.md.
"""

from webhookd.web.pages import routes

__all__ = ["routes"]
