package io.portico.http;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class RequestIdsTest {

    @Test
    void generatesThirtyTwoLowercaseHexDigits() {
        for (int i = 0; i < 100; i++) {
            assertThat(RequestIds.generate()).matches("[0-9a-f]{32}");
        }
    }

    @Test
    void generatesDistinctIds() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            ids.add(RequestIds.generate());
        }
        assertThat(ids).hasSize(10_000);
    }

    @Test
    void acceptsVisibleAsciiIds() {
        assertThat(RequestIds.isValid("a")).isTrue();
        assertThat(RequestIds.isValid("req-1234_abc.DEF:~!")).isTrue();
        assertThat(RequestIds.isValid("x".repeat(200))).isTrue();
        assertThat(RequestIds.isValid(RequestIds.generate())).isTrue();
    }

    @Test
    void rejectsIdsThatCouldCorruptLogsOrHeaders() {
        assertThat(RequestIds.isValid(null)).isFalse();
        assertThat(RequestIds.isValid("")).isFalse();
        assertThat(RequestIds.isValid("x".repeat(201))).isFalse();
        assertThat(RequestIds.isValid("has space")).isFalse();
        assertThat(RequestIds.isValid("line\nbreak")).isFalse();
        assertThat(RequestIds.isValid("tab\t")).isFalse();
        assertThat(RequestIds.isValid("del\u007F")).isFalse();
        assertThat(RequestIds.isValid("caf\u00E9")).isFalse();
    }
}
