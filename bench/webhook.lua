-- webhook.lua - wrk's request for bench/webhook.sh: a POST of a GitHub
-- push delivery, the same bytes on every request.
--
--   WRK_BODY=push.json WRK_SIG=sha256=HEX WRK_DELIVERY=ID \
--       wrk -s bench/webhook.lua URL
--
-- The body is read once per wrk thread; the headers are GitHub's
-- (X-GitHub-Event, X-GitHub-Delivery, X-Hub-Signature-256, a GitHub
-- User-Agent).  No response() callback: wrk's own "Non-2xx or 3xx
-- responses" count is what webhook.sh checks, and a callback would make
-- wrk parse every reply in Lua, slowing the client for both servers.
local f = assert(io.open(assert(os.getenv("WRK_BODY"), "WRK_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "GitHub-Hookshot/bench"
wrk.headers["X-GitHub-Event"] = os.getenv("WRK_EVENT") or "push"
wrk.headers["X-GitHub-Delivery"] = assert(os.getenv("WRK_DELIVERY"), "WRK_DELIVERY")
wrk.headers["X-Hub-Signature-256"] = assert(os.getenv("WRK_SIG"), "WRK_SIG")
