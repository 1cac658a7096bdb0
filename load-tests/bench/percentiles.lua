-- wrk script for bin/bench: prints wrk's own counters and latency percentiles as one
-- machine-readable line, so p99.9 (which --latency does not show) needs no text scraping.
-- Latencies are in microseconds. status_err counts responses that were not 2xx or 3xx.
-- No request()/response() hooks are defined, so wrk keeps its fast native request path.

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d"
      .. " connect_err=%d read_err=%d write_err=%d status_err=%d timeout_err=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
