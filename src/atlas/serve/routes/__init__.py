"""The server's routes, one APIRouter a group: health (and /metrics), v1, v2, admin. Each
handler reads the app's shared state from ``request.app.state`` (:mod:`atlas.serve.state`)."""
