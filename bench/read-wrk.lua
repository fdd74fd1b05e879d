-- wrk's side of bench:read's load (bench/wrk-load.ts starts it):
--   wrk -t1 -cN -s bench/read-wrk.lua <url> -- <ms> [<file> <width> <offset>]
-- for <ms>, then until every answer in flight is in (it prints "read-wrk-drained" and its
-- thread stops: wrk-load.ts then ends wrk with SIGINT), requests the lines of <file> in turn
-- from line <offset> on, each once, read as they are asked
-- (wrapping around at the end; thread n would start n × 10,007 lines further). A line is
-- "<question> <path>", padded with spaces to <width> bytes, drawn in Node as
-- bench/read-client.ts draws them. No <file>: GET /healthz.
--
-- Each request carries its place in the cycle as X-Request-Id, which the server echoes: an
-- answer is matched to its request, hence to its question (the mixed phase asks several at
-- once) and its send time. wrk's own histogram cannot be read from Lua in Debian's wrk 4.1
-- (`latency[i]` gives i back), so the latency is timed here too: from just before wrk writes
-- the request to just after it has read the answer (wrk times the same span; its p50 and p99
-- of the run are printed beside, as a check).
-- At the end, per question one line "read-wrk <question> {json}": answers (2xx, 304, 404) and
-- their latencies ("µs:n,…", a histogram) and bytes, 503s (shed), 429s, other statuses (errors);
-- then "read-wrk-run {json}": socket errors, the requests left in flight when wrk stopped (0
-- unless the drain did not end), the run's µs (the first request to the last answer), wrk's p50,
-- p99 and max (µs).

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } read_wrk_timespec;
  int clock_gettime(int clock, read_wrk_timespec *t);
]]
local ts = ffi.new("read_wrk_timespec")
local function now() -- µs, CLOCK_MONOTONIC
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local threads = {}
function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

local questionOf, sentAt, i = {}, {}, 0
sent, received = 0, 0
-- Per question q, globals (wrk copies only flat tables between its Lua states): "latency " .. q,
-- the answers' latencies (µs → n), and "counts " .. q: answers, bytes, shed, limited, errors.
questions = {}
local function counts(q)
  local c = _G["counts " .. q]
  if c == nil then
    questions[#questions + 1] = q
    _G["latency " .. q] = {}
    c = { answers = 0, bytes = 0, shed = 0, limited = 0, errors = 0 }
    _G["counts " .. q] = c
  end
  return c
end

local file, width, path, question, deadline
startedAt, drainedAt = nil, nil
function init(args)
  deadline = now() + tonumber(args[1]) * 1000
  if args[2] == nil then
    path, question = "/healthz", "healthz"
    return
  end
  file = assert(io.open(args[2], "rb"))
  width = tonumber(args[3]) + 1
  local lines = file:seek("end") / width
  file:seek("set", ((tonumber(args[4]) + id * 10007) % lines) * width)
end

-- Past the deadline no connection asks again: the answers in flight are awaited (the server
-- does not answer requests nobody reads), then the thread stops and says so.
function delay()
  if now() < deadline then return 0 end
  return 3600000
end

-- wrk calls thread 0's request() once before the run, to check what it makes: not sent.
local checked = false
function request()
  if id == 0 and not checked then
    checked = true
    return wrk.format("GET", "/healthz")
  end
  -- The id cycles through far more numbers than there are requests in flight.
  i = i % 100000 + 1
  if file ~= nil then
    local line = file:read(width)
    if line == nil then
      file:seek("set", 0)
      line = file:read(width)
    end
    question, path = line:match("^(%S+) (%S+)")
  end
  questionOf[i] = question
  sentAt[i] = now()
  startedAt = startedAt or sentAt[i]
  sent = sent + 1
  return wrk.format("GET", path, { ["X-Request-Id"] = tostring(i) })
end

function response(status, headers, body)
  received = received + 1
  local k = tonumber(headers["x-request-id"])
  local q = questionOf[k]
  local f = counts(q)
  if status < 400 or status == 404 then
    local us = math.floor(now() - sentAt[k])
    local latency = _G["latency " .. q]
    f.answers = f.answers + 1
    f.bytes = f.bytes + #body
    latency[us] = (latency[us] or 0) + 1
  elseif status == 503 then
    f.shed = f.shed + 1
  elseif status == 429 then
    f.limited = f.limited + 1
  else
    f.errors = f.errors + 1
  end
  if sent == received and drainedAt == nil and now() >= deadline then
    drainedAt = now()
    io.write("read-wrk-drained\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency)
  local all, inFlight, us = {}, 0, 0
  for _, thread in ipairs(threads) do
    inFlight = inFlight + thread:get("sent") - thread:get("received")
    local from, to = thread:get("startedAt"), thread:get("drainedAt")
    us = math.max(us, from and to and to - from or summary.duration)
    for _, q in ipairs(thread:get("questions")) do
      local a = all[q] or { latency = {}, answers = 0, bytes = 0, shed = 0, limited = 0, errors = 0 }
      for us, n in pairs(thread:get("latency " .. q)) do a.latency[us] = (a.latency[us] or 0) + n end
      local f = thread:get("counts " .. q)
      for _, k in ipairs({ "answers", "bytes", "shed", "limited", "errors" }) do a[k] = a[k] + f[k] end
      all[q] = a
    end
  end
  for q, a in pairs(all) do
    local histogram = {}
    for us, n in pairs(a.latency) do histogram[#histogram + 1] = us .. ":" .. n end
    io.write(string.format('read-wrk %s {"answers":%d,"bytes":%d,"shed":%d,"limited":%d,"errors":%d,"latency":"%s"}\n',
      q, a.answers, a.bytes, a.shed, a.limited, a.errors, table.concat(histogram, ",")))
  end
  local e = summary.errors
  io.write(string.format('read-wrk-run {"socketErrors":%d,"inFlight":%d,"us":%d,"p50":%d,"p99":%d,"max":%d}\n',
    e.connect + e.read + e.write + e.timeout, inFlight, us, latency:percentile(50), latency:percentile(99), latency.max))
end
