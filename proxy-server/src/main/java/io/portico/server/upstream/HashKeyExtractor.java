package io.portico.server.upstream;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.cookie.Cookie;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.FastThreadLocal;
import io.portico.server.upstream.balance.HashKeys;

import java.net.InetAddress;

/**
 * Turns a request into the hash that places it on a consistent-hash ring, per the group's
 * {@code hash.key}: {@code uri}, {@code host}, {@code host_uri}, {@code client_ip},
 * {@code header:NAME} or {@code cookie:NAME}. A missing header or cookie hashes as empty, as does
 * the client address of a connection that has none (a Unix socket). {@code host} is the request's
 * host without port as routing saw it; {@code uri} is path and query as the client sent them.
 */
public abstract class HashKeyExtractor {

    /** For groups that do not hash: costs nothing. */
    public static final HashKeyExtractor NONE = new HashKeyExtractor() {
        @Override
        public long hash(HttpRequest request, String host, InetAddress client) {
            return 0;
        }
    };

    private static final FastThreadLocal<StringBuilder> HOST_URI = new FastThreadLocal<>() {
        @Override
        protected StringBuilder initialValue() {
            return new StringBuilder(128);
        }
    };

    public abstract long hash(HttpRequest request, String host, InetAddress client);

    static HashKeyExtractor of(String key) {
        switch (key) {
            case "uri":
                return new HashKeyExtractor() {
                    @Override
                    public long hash(HttpRequest request, String host, InetAddress client) {
                        return HashKeys.hash(request.uri());
                    }
                };
            case "host":
                return new HashKeyExtractor() {
                    @Override
                    public long hash(HttpRequest request, String host, InetAddress client) {
                        return HashKeys.hash(host);
                    }
                };
            case "host_uri":
                return new HashKeyExtractor() {
                    @Override
                    public long hash(HttpRequest request, String host, InetAddress client) {
                        // One builder per thread: the key is hashed straight away, never kept.
                        StringBuilder sb = HOST_URI.get();
                        sb.setLength(0);
                        return HashKeys.hash(sb.append(host).append(request.uri()));
                    }
                };
            case "client_ip":
                return new HashKeyExtractor() {
                    @Override
                    public long hash(HttpRequest request, String host, InetAddress client) {
                        return HashKeys.hash(client == null ? "" : client.getHostAddress());
                    }
                };
            default:
                break;
        }
        if (key.startsWith("header:")) {
            AsciiString name = AsciiString.cached(key.substring(7));
            return new HashKeyExtractor() {
                @Override
                public long hash(HttpRequest request, String host, InetAddress client) {
                    String v = request.headers().get(name);
                    return HashKeys.hash(v == null ? "" : v);
                }
            };
        }
        if (key.startsWith("cookie:")) {
            String name = key.substring(7);
            return new HashKeyExtractor() {
                @Override
                public long hash(HttpRequest request, String host, InetAddress client) {
                    for (String header : request.headers().getAll(HttpHeaderNames.COOKIE)) {
                        for (Cookie c : ServerCookieDecoder.LAX.decodeAll(header)) {
                            if (c.name().equals(name)) {
                                return HashKeys.hash(c.value());
                            }
                        }
                    }
                    return HashKeys.hash("");
                }
            };
        }
        throw new IllegalArgumentException("unknown hash key " + key);
    }
}
