package io.portico.server.config;

/**
 * A redirect. The location is a template with nginx-style variables: {@code $scheme},
 * {@code $host}, {@code $request_uri} (path and query as received), {@code $uri} (path),
 * {@code $args} (query), and {@code $1}…{@code $9} from a regex match.
 *
 * @param status    301, 302, 303, 307 or 308
 * @param location  the target template
 */
public record RedirectConfig(
        @Default("302") int status,
        String location) {

    public RedirectConfig {
        if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308) {
            throw new InvalidConfigException("status", "a redirect status is 301, 302, 303, 307 or 308, got " + status);
        }
        if (location == null || location.isEmpty()) {
            throw new InvalidConfigException("location", "a redirect needs a location");
        }
    }
}
