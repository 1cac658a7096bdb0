package io.portico.http.cache;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class VaryAndKeyTest {

    @Test
    void varyNamesAreLowerCasedSortedAndDeduplicated() {
        HttpHeaders r = new DefaultHttpHeaders().add("Vary", "Accept-Encoding, accept-language").add("Vary", "Accept-Encoding");
        assertThat(Vary.names(r)).containsExactly("accept-encoding", "accept-language");
        assertThat(Vary.names(new DefaultHttpHeaders().add("Vary", "Accept, *"))).containsExactly("*");
    }

    @Test
    void selectingValuesIgnoreWhitespaceLineSplitsAndTokenCase() {
        List<String> names = List.of("accept-encoding");
        String a = Vary.selectingValues(names, new DefaultHttpHeaders().add("Accept-Encoding", "gzip,  BR"));
        String b = Vary.selectingValues(names, new DefaultHttpHeaders().add("Accept-Encoding", "gzip").add("Accept-Encoding", "br"));
        String c = Vary.selectingValues(names, new DefaultHttpHeaders().add("Accept-Encoding", "br, gzip"));
        assertThat(a).isEqualTo(b);
        assertThat(a).isNotEqualTo(c);
        String absent = Vary.selectingValues(names, new DefaultHttpHeaders());
        String empty = Vary.selectingValues(names, new DefaultHttpHeaders().add("Accept-Encoding", ""));
        assertThat(absent).isNotEqualTo(empty);
        assertThat(Vary.selectingValues(List.of("*"), new DefaultHttpHeaders())).isNull();
    }

    @Test
    void defaultKeyIsSchemeHostPathAndQuery() {
        CacheKeyTemplate t = CacheKeyTemplate.parse(CacheKeyTemplate.DEFAULT);
        assertThat(t.expand("http", "example.com", "/a/b?x=1", new DefaultHttpHeaders())).isEqualTo("http://example.com/a/b?x=1");
    }

    @Test
    void templatesTakeVariablesAndHeaders() {
        CacheKeyTemplate t = CacheKeyTemplate.parse("$host$uri$is_args$args|$http_x_tenant");
        assertThat(t.expand("https", "h", "/p?q=1", new DefaultHttpHeaders().add("X-Tenant", "acme"))).isEqualTo("h/p?q=1|acme");
        assertThat(t.expand("https", "h", "/p", new DefaultHttpHeaders())).isEqualTo("h/p|");
        assertThatThrownBy(() -> CacheKeyTemplate.parse("$host$nope")).hasMessageContaining("$nope");
    }
}
