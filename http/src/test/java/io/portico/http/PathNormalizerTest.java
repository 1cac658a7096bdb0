package io.portico.http;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

class PathNormalizerTest {

    @ParameterizedTest
    @CsvSource({
            "/, /",
            "/a/b, /a/b",
            "/a/b/, /a/b/",
            "/x/../admin/secret, /admin/secret",
            "/./admin/secret, /admin/secret",
            "//admin//secret, /admin/secret",
            "/%61dmin/secret, /admin/secret",
            "/a/%2f/b, /a/%2F/b",
            "/a/%2F../b, /a/%2F../b",
            "/a/b/.., /a/",
            "/a/b/., /a/b/",
            "/a/./b/../c, /a/c",
            "/%7euser, /~user",
            "/a%20b, /a%20b",
            "/..a/.b/c.., /..a/.b/c..",
            "/a/.../b, /a/.../b",
            "/a;jsessionid=1/b, /a;jsessionid=1/b",
            "/a/b;v=1, /a/b;v=1",
    })
    void normalisesTheWaysAClientCanSpellOnePath(String raw, String normal) {
        assertThat(PathNormalizer.normalize(raw)).isEqualTo(normal);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/..", "/../etc/passwd", "/a/../../b", "/%2e%2e/x", "/a%00b", "/a%zz", "/a%2", "a/b", ""})
    void rejectsPathsThatClimbAboveTheRootOrAreMalformed(String raw) {
        assertThat(PathNormalizer.normalize(raw)).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"/public/..;/admin", "/public/.;/admin", "/..;x", "/a/%2e%2e;/b", "/a/.;"})
    void rejectsDotSegmentsWithParametersThatServletContainersWouldResolve(String raw) {
        assertThat(PathNormalizer.normalize(raw)).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"/", "/api/v1/users", "/static/app.js", "/a.b/c..d/.well-known/x"})
    void returnsANormalPathItselfWithoutCopying(String path) {
        assertThat(PathNormalizer.normalize(path)).isSameAs(path);
    }
}
