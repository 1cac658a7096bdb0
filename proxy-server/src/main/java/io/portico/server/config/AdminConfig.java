package io.portico.server.config;

/**
 * The admin listener: metrics, status, the running config, reload and the dashboard. It binds to
 * loopback unless told otherwise, like Envoy's admin interface, because it can reload the proxy.
 *
 * @param enabled    serve it
 * @param address    host:port to bind
 * @param tokenFile  a file holding the bearer token every admin request must carry
 * @param tokenEnv   an environment variable holding that token (instead of a file)
 */
public record AdminConfig(
        @Default("true") boolean enabled,
        @Default("127.0.0.1:9901") HostPort address,
        @Nullable String tokenFile,
        @Nullable String tokenEnv) {

    public AdminConfig {
        if (tokenFile != null && tokenEnv != null) {
            throw new InvalidConfigException("token_file", "give the token in token_file or token_env, not both");
        }
        if (tokenFile != null && tokenFile.isBlank()) {
            throw new InvalidConfigException("token_file", "cannot be empty");
        }
        if (tokenEnv != null && tokenEnv.isBlank()) {
            throw new InvalidConfigException("token_env", "cannot be empty");
        }
    }
}
