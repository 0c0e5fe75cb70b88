-- wrk script of `vouchers-bench load`: drives one workload against a running `vouchers serve`.
-- Configured by environment variables (the Rust side sets them):
--   LOAD_MODE     get | check | redeem | mix (nine checks, then one redeem) | flood (unknown
--                 codes, each request from the next of LOAD_ADDRESSES addresses in
--                 X-Forwarded-For, 198.18.0.0/15: a benchmark range, only ever a header value)
--   LOAD_PATH     the path of a GET (mode get)
--   LOAD_TOKEN    a checkout token's secret
--   LOAD_CONF     the conference's slug
--   LOAD_CHECK    file of codes to check, one per line (used round-robin)
--   LOAD_REDEEM   file of single-use codes to redeem, one per line; each thread takes every
--                 LOAD_THREADS-th line, so no two requests redeem one code
--   LOAD_RUN      a label that makes this run's order refs distinct from every other run's
--   LOAD_THREADS  wrk's -t
-- `done` prints one JSON line: requests, duration, latency percentiles (microseconds), the status
-- counts, redeems answered 200, and how many redeems had to reuse a code (0 unless the file ran out).

local mode = os.getenv("LOAD_MODE")
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local function lines_of(path)
  local out = {}
  if path == nil or path == "" then return out end
  for line in io.lines(path) do
    if line ~= "" then table.insert(out, line) end
  end
  return out
end

function init(args)
  nthreads = tonumber(os.getenv("LOAD_THREADS"))
  run = os.getenv("LOAD_RUN")
  check_codes = lines_of(os.getenv("LOAD_CHECK"))
  redeem_codes = lines_of(os.getenv("LOAD_REDEEM"))
  local conf = os.getenv("LOAD_CONF")
  check_path = "/api/v1/conferences/" .. (conf or "") .. "/vouchers/check"
  redeem_path = "/api/v1/conferences/" .. (conf or "") .. "/vouchers/redeem"
  get_path = os.getenv("LOAD_PATH")
  addresses = tonumber(os.getenv("LOAD_ADDRESSES") or "1")
  headers = {
    ["Authorization"] = "Bearer " .. (os.getenv("LOAD_TOKEN") or ""),
    ["Content-Type"] = "application/json",
  }
  sent, redeems = 0, 0
  s2xx, s409, s429, s4xx, s5xx, redeemed, reused = 0, 0, 0, 0, 0, 0, 0
end

local function check_request()
  local code = check_codes[(sent * nthreads + tid) % #check_codes + 1]
  local body = '{"code":"' .. code .. '","lines":[{"ticket_type":"standard","quantity":1}]}'
  return wrk.format("POST", check_path, headers, body)
end

local function redeem_request()
  redeems = redeems + 1
  local index = tid + (redeems - 1) * nthreads + 1
  if index > #redeem_codes then
    reused = reused + 1
    index = (index - 1) % #redeem_codes + 1
  end
  local body = '{"code":"' .. redeem_codes[index] .. '","order_ref":"' .. run .. "-" .. tid .. "-" .. redeems
    .. '","lines":[{"ticket_type":"standard","quantity":1}]}'
  return wrk.format("POST", redeem_path, headers, body)
end

local function flood_request()
  local i = (sent * nthreads + tid) % addresses
  local address = "198." .. (18 + math.floor(i / 65536) % 2) .. "." .. (math.floor(i / 256) % 256) .. "."
    .. (i % 256)
  local h = { ["Authorization"] = headers["Authorization"], ["Content-Type"] = "application/json",
              ["X-Forwarded-For"] = address }
  local body = '{"code":"FLOOD-' .. tid .. "-" .. sent .. '"}'
  return wrk.format("POST", check_path, h, body)
end

function request()
  sent = sent + 1
  if mode == "flood" then return flood_request() end
  local kind
  if mode == "get" then
    kind = "get"
  elseif mode == "check" or (mode == "mix" and sent % 10 ~= 0) then
    kind = "check"
  else
    kind = "redeem"
  end
  if kind == "get" then return wrk.format("GET", get_path, headers) end
  if kind == "check" then return check_request() end
  return redeem_request()
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    s2xx = s2xx + 1
    -- Only a redemption's answer says this (a check's says "valid").
    if mode ~= "check" and mode ~= "get" and body:find('"redeemed":true', 1, true) then
      redeemed = redeemed + 1
    end
  elseif status == 409 then s409 = s409 + 1
  elseif status == 429 then s429 = s429 + 1
  elseif status < 500 then s4xx = s4xx + 1
  else s5xx = s5xx + 1 end
end

function done(summary, latency, requests)
  local t = { s2xx = 0, s409 = 0, s429 = 0, s4xx = 0, s5xx = 0, redeemed = 0, reused = 0 }
  for _, thread in ipairs(threads) do
    for key, _ in pairs(t) do t[key] = t[key] + (thread:get(key) or 0) end
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"s2xx":%d,"s409":%d,"s429":%d,"s4xx":%d,"s5xx":%d,"redeemed":%d,"reused":%d,'
      .. '"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    t.s2xx, t.s409, t.s429, t.s4xx, t.s5xx, t.redeemed, t.reused,
    e.connect + e.read + e.write + e.timeout))
end
