# Varnish for `bin/bench --suite cache`: the built-in VCL (it caches what Cache-Control allows and
# collapses concurrent misses), objects in memory (-s malloc, set by bin/bench).
# @ORIGIN_PORT@ is filled in by bin/bench.
vcl 4.1;

backend origin {
    .host = "127.0.0.1";
    .port = "@ORIGIN_PORT@";
}
