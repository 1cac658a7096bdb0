package io.portico.server.upstream;

import io.netty.handler.ssl.SslProvider;
import io.portico.server.config.UpstreamTlsConfig;
import io.portico.tls.ClientTls;
import io.portico.tls.ClientTlsOptions;
import io.portico.tls.KeyMaterial;
import io.portico.tls.PemFiles;
import io.portico.tls.TlsConfigException;

import java.nio.file.Path;
import java.util.List;

/** Builds the client TLS context of an upstream group from its {@code tls:} section. */
public final class UpstreamTls {

    private UpstreamTls() {
    }

    /** @return the context, or null when the group speaks plain HTTP */
    public static ClientTls build(UpstreamTlsConfig c, SslProvider provider) throws TlsConfigException {
        if (!c.enabled()) {
            return null;
        }
        KeyMaterial clientCert = c.clientCert() == null ? null
                : KeyMaterial.loadPem(Path.of(c.clientCert()), Path.of(c.clientKey()), null);
        return ClientTls.build(new ClientTlsOptions(provider,
                c.ca() == null ? List.of() : PemFiles.loadCertificates(Path.of(c.ca())),
                c.verify(), clientCert, List.of("TLSv1.3", "TLSv1.2"), List.of()));
    }
}
