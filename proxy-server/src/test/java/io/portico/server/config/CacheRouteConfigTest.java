package io.portico.server.config;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The cache keys of a route added with slices and HEAD conversion: their defaults and their bounds. */
class CacheRouteConfigTest {

    private static CacheRouteConfig bind(String yaml) throws ConfigException {
        return ConfigLoader.parse("test.yaml", yaml, CacheRouteConfig.class);
    }

    @Test
    void slicesAreOffAndHeadConversionOnByDefault() throws ConfigException {
        CacheRouteConfig c = bind("enabled: true");
        assertThat(c.slice().bytes()).isZero();
        assertThat(c.convertHead()).isTrue();
        assertThat(bind("slice: 1m\nconvert_head: false").slice().bytes()).isEqualTo(1 << 20);
    }

    @Test
    void aSliceMustBeAtLeast4kAndNoMoreThanTheObjectLimit() {
        ConfigException tiny = catchThrowableOfType(ConfigException.class, () -> bind("slice: 1k"));
        assertThat(tiny).hasMessageStartingWith("test.yaml:1: slice: must be 0 (off) or 4k..max_object_size");
        ConfigException huge = catchThrowableOfType(ConfigException.class, () -> bind("max_object_size: 8m\nslice: 16m"));
        assertThat(huge).hasMessageContaining("slice: must be 0 (off) or 4k..max_object_size (8388608 bytes)");
    }
}
