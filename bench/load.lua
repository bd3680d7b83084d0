-- The wrk script of every coatcheck benchmark. Arguments after "--", each key=value:
--   lines=FILE   values rotated over, the next one for each request (one a line)
--   mode=cookie  each value is a Cookie header ("name=value"): GET with it
--   mode=body    each value is a JSON body: POST it with Content-Type: application/json
--   mode=plain   (default) no rotation: the same request every time
--   ua=TEXT      the User-Agent header of every request
--   count=1      count answers by status class in a `response` hook (slower: wrk then
--                parses every answer, so only the 1,000-connection run sets it)
--   pace=1       also time every answer: "steady_rate" is the slope of answers counted
--                against time (least squares), free of the ramp-up before the first answer
--                (long at a bcrypt cost), of the requests cut off at the end, and of answers
--                that come in bursts (bcrypt threads finishing together)
-- Requests are formatted once, in init(): per request, request() only hands out the next
-- string (and in plain mode there is no request() at all: wrk's static request), so that
-- the Lua side costs the load generator next to nothing (issue 20: formatting per request
-- made the bare baseline wrk-bound).
-- done() prints one line "WRK-JSON {...}": counts, latency percentiles in microseconds.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *now);
]]
local clock = ffi.new("bench_timespec")

local function monotonic()
   ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
   return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) / 1e9
end

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

local values, count, position, headers, mode, requests

function init(args)
   local options = {}
   for _, argument in ipairs(args) do
      local key, value = argument:match("^(%w+)=(.*)$")
      if key then options[key] = value end
   end
   mode = options.mode or "plain"
   headers = { ["User-Agent"] = options.ua or "wrk" }
   if mode == "body" then headers["Content-Type"] = "application/json" end
   values = {}
   if options.lines then
      for line in io.lines(options.lines) do
         if line ~= "" then values[#values + 1] = line end
      end
   end
   count = #values
   if mode == "plain" or count == 0 then
      -- no rotation: wrk's own static request, formatted once, no Lua per request
      for name, value in pairs(headers) do wrk.headers[name] = value end
      request = nil
   else
      -- every request formatted here, once: request() only hands out the next one
      requests = {}
      for index, value in ipairs(values) do
         if mode == "cookie" then
            headers["Cookie"] = value
            requests[index] = wrk.format("GET", nil, headers)
         else
            requests[index] = wrk.format("POST", nil, headers, value)
         end
      end
      values = nil
   end
   -- threads start far apart in the rotation
   position = count > 0 and ((thread_number - 1) * 7919) % count or 0
   counting = options.count == "1"
   pacing = options.pace == "1"
   s2xx, s3xx, s4xx, s5xx = 0, 0, 0, 0
   answers, first_at = 0, 0
   sum_t, sum_tt, sum_i, sum_ti = 0, 0, 0, 0
   if counting or pacing then
      response = function(status, _, _)
         if pacing then
            local now = monotonic()
            if answers == 0 then first_at = now end
            answers = answers + 1
            local t = now - first_at
            sum_t, sum_tt = sum_t + t, sum_tt + t * t
            sum_i, sum_ti = sum_i + answers, sum_ti + t * answers
         end
         if status < 300 then s2xx = s2xx + 1
         elseif status < 400 then s3xx = s3xx + 1
         elseif status < 500 then s4xx = s4xx + 1
         else s5xx = s5xx + 1 end
      end
   end
end

function request()
   position = position % count + 1
   return requests[position]
end

function done(summary, latency, requests)
   local counted = false
   local totals = { s2xx = 0, s3xx = 0, s4xx = 0, s5xx = 0 }
   local steady = -1 -- none measured
   for _, thread in ipairs(threads) do
      if thread:get("counting") then
         counted = true
         for name, _ in pairs(totals) do
            totals[name] = totals[name] + (thread:get(name) or 0)
         end
      end
      local n = thread:get("answers") or 0
      if thread:get("pacing") and n > 2 then
         local t, tt = thread:get("sum_t"), thread:get("sum_tt")
         local i, ti = thread:get("sum_i"), thread:get("sum_ti")
         local spread = n * tt - t * t
         if spread > 0 then
            steady = math.max(steady, 0) + (n * ti - t * i) / spread
         end
      end
   end
   local errors = summary.errors
   io.write(string.format(
      'WRK-JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"latency_us":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f,"mean":%.1f},' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},' ..
      '"counted":%s,"status":{"2xx":%d,"3xx":%d,"4xx":%d,"5xx":%d},"steady_rate":%.3f}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean,
      errors.connect, errors.read, errors.write, errors.timeout, errors.status,
      tostring(counted), totals.s2xx, totals.s3xx, totals.s4xx, totals.s5xx, steady))
end
