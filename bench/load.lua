-- One wrk script for every scenario of bench/run.py: `wrk -s load.lua URL -- MODE KEY RUN`.
-- MODE: amp-create | ap-create (a fresh name/externalId each request), amp-reject | ap-reject
-- (a body the schema refuses), get (a plain GET). KEY is the credential, RUN a prefix that keeps
-- names unique across runs. `done` prints one JSON line that bench/run.py parses.

local counter = 0
thread_no = 0  -- set per thread by setup()
local threads = {}
local mode, key, run
local headers = {}

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  mode, key, run = args[1], args[2], args[3] or "r"
  headers["Content-Type"] = "application/json"
  if mode:sub(1, 3) == "amp" then
    headers["X-Api-Key"] = key
  else
    headers["Authorization"] = "Bearer " .. key
  end
end

local ORG = "9f7c3e2a-61b8-4f5c-8d1a-eb24f3b05d79"

function request()
  counter = counter + 1
  local tag = run .. "-" .. thread_no .. "-" .. counter
  if mode == "amp-create" then
    return wrk.format("POST", nil, headers,
      '{"appName":"Bench App","name":"p-' .. tag .. '","orgId":"' .. ORG .. '"}')
  elseif mode == "ap-create" then
    return wrk.format("POST", nil, headers,
      '{"displayName":"Bench project ' .. tag .. '","externalId":"ext-' .. tag .. '"}')
  elseif mode == "amp-reject" then
    return wrk.format("POST", nil, headers, '{"appName":"Bench App","name":"-bad-","orgId":"' .. ORG .. '"}')
  elseif mode == "ap-reject" then
    -- an object: Activepieces coerces a number to a string (ajv's coerceTypes), never an object
    return wrk.format("POST", nil, headers, '{"displayName":{"n":42},"externalId":"ext-' .. tag .. '"}')
  else
    return wrk.format("GET", nil, headers)
  end
end

function done(summary, latency, requests)
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"status_errors":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
end
