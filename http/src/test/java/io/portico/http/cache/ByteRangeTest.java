package io.portico.http.cache;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ByteRangeTest {

    private static final HttpHeaders STORED = new DefaultHttpHeaders().add("ETag", "\"s1\"")
            .add("Last-Modified", "Sun, 01 Nov 2026 10:00:00 GMT");

    private static ByteRange range(String range, long length) {
        return ByteRange.of(new DefaultHttpHeaders().add("Range", range), STORED, length);
    }

    @Test
    void closedOpenAndSuffixRanges() {
        assertThat(range("bytes=0-9", 100)).isEqualTo(new ByteRange(0, 9));
        assertThat(range("bytes=90-", 100)).isEqualTo(new ByteRange(90, 99));
        assertThat(range("bytes=-10", 100)).isEqualTo(new ByteRange(90, 99));
        assertThat(range("bytes=-500", 100)).isEqualTo(new ByteRange(0, 99));
        assertThat(range("bytes=50-5000", 100)).isEqualTo(new ByteRange(50, 99));
        assertThat(range("bytes=50-5000", 100).contentRange(100)).isEqualTo("bytes 50-99/100");
    }

    @Test
    void unsatisfiableRanges() {
        assertThat(range("bytes=100-", 100)).isSameAs(ByteRange.UNSATISFIABLE);
        assertThat(range("bytes=-0", 100)).isSameAs(ByteRange.UNSATISFIABLE);
    }

    @Test
    void malformedOrUnsupportedRangesAreIgnored() {
        assertThat(range("bytes=9-1", 100)).isNull();
        assertThat(range("bytes=a-b", 100)).isNull();
        assertThat(range("items=0-1", 100)).isNull();
        assertThat(range("bytes=0-1,5-6", 100)).isNull();
        assertThat(range("bytes=-", 100)).isNull();
        assertThat(ByteRange.of(new DefaultHttpHeaders(), STORED, 100)).isNull();
    }

    @Test
    void ifRangeNeedsAStrongTagOrTheExactDate() {
        HttpHeaders ok = new DefaultHttpHeaders().add("Range", "bytes=0-0").add("If-Range", "\"s1\"");
        assertThat(ByteRange.of(ok, STORED, 10)).isEqualTo(new ByteRange(0, 0));
        HttpHeaders other = new DefaultHttpHeaders().add("Range", "bytes=0-0").add("If-Range", "\"s2\"");
        assertThat(ByteRange.of(other, STORED, 10)).isNull();
        HttpHeaders weak = new DefaultHttpHeaders().add("Range", "bytes=0-0").add("If-Range", "W/\"s1\"");
        assertThat(ByteRange.of(weak, STORED, 10)).isNull();
        HttpHeaders date = new DefaultHttpHeaders().add("Range", "bytes=0-0").add("If-Range", "Sun, 01 Nov 2026 10:00:00 GMT");
        assertThat(ByteRange.of(date, STORED, 10)).isEqualTo(new ByteRange(0, 0));
        HttpHeaders later = new DefaultHttpHeaders().add("Range", "bytes=0-0").add("If-Range", "Mon, 02 Nov 2026 10:00:00 GMT");
        assertThat(ByteRange.of(later, STORED, 10)).isNull();
    }
}
