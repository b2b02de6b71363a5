"""Views of the API, one module per area. Each is thin: parse input, call one service, render. Import each
from its module."""
