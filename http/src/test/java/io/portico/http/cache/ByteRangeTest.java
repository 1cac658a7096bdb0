package io.portico.http.cache;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ByteRangeTest {

    private static final HttpHeaders STORED = new DefaultHttpHeaders().add("ETag", "\"s1\"")
            .add("Last-Modified", "Sun, 01 Nov 2026 10:00:00 GMT").add("Date", "Sun, 01 Nov 2026 12:00:00 GMT");

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

    @Test
    void ifRangeWithADateNeedsAStrongLastModified() {
        HttpHeaders ifRange = new DefaultHttpHeaders().add("Range", "bytes=0-0")
                .add("If-Range", "Sun, 01 Nov 2026 10:00:00 GMT");
        // Written in the second it was sent: a second version within that second has the same date.
        HttpHeaders sameSecond = new DefaultHttpHeaders().add("Last-Modified", "Sun, 01 Nov 2026 10:00:00 GMT")
                .add("Date", "Sun, 01 Nov 2026 10:00:00 GMT");
        assertThat(ByteRange.of(ifRange, sameSecond, 10)).isNull();
        assertThat(ByteRange.all(ifRange, sameSecond, 10)).isNull();
        HttpHeaders noDate = new DefaultHttpHeaders().add("Last-Modified", "Sun, 01 Nov 2026 10:00:00 GMT");
        assertThat(ByteRange.of(ifRange, noDate, 10)).isNull();
        HttpHeaders secondLater = new DefaultHttpHeaders().add("Last-Modified", "Sun, 01 Nov 2026 10:00:00 GMT")
                .add("Date", "Sun, 01 Nov 2026 10:00:01 GMT");
        assertThat(ByteRange.of(ifRange, secondLater, 10)).isEqualTo(new ByteRange(0, 0));
        assertThat(ByteRange.all(ifRange, secondLater, 10)).containsExactly(new ByteRange(0, 0));
    }

    private static java.util.List<ByteRange> all(String range, long length) {
        return ByteRange.all(new DefaultHttpHeaders().add("Range", range), STORED, length);
    }

    @Test
    void severalRangesAreKeptInOrderAndUnsatisfiableOnesDropped() {
        assertThat(all("bytes=0-9,20-29", 100)).containsExactly(new ByteRange(0, 9), new ByteRange(20, 29));
        assertThat(all("bytes=0-9, 20-, ,200-300", 100)).containsExactly(new ByteRange(0, 9), new ByteRange(20, 99));
        assertThat(all("bytes=0-0", 100)).containsExactly(new ByteRange(0, 0));
        assertThat(all("bytes=100-,200-300", 100)).containsExactly(ByteRange.UNSATISFIABLE);
    }

    @Test
    void overlappingUnorderedMalformedOrTooManyRangesGetTheWholeResponse() {
        assertThat(all("bytes=0-9,5-15", 100)).isNull();
        assertThat(all("bytes=20-29,0-9", 100)).isNull();
        assertThat(all("bytes=0-9,x", 100)).isNull();
        assertThat(all("items=0-9,20-29", 100)).isNull();
        StringBuilder many = new StringBuilder("bytes=0-0");
        for (int i = 1; i <= ByteRange.MAX_RANGES; i++) {
            many.append(',').append(i * 2).append('-').append(i * 2);
        }
        assertThat(all(many.toString(), 1000)).isNull();
        HttpHeaders stale = new DefaultHttpHeaders().add("Range", "bytes=0-1,5-6").add("If-Range", "\"other\"");
        assertThat(ByteRange.all(stale, STORED, 100)).isNull();
    }

    @Test
    void multipartFramingIsExactAndItsLengthKnownUpFront() {
        MultipartByteRanges m = new MultipartByteRanges(java.util.List.of(new ByteRange(0, 1), new ByteRange(5, 6)),
                "text/plain", 10, "B");
        String body = new String(m.head(0)) + "ab" + new String(m.head(1)) + "fg" + new String(m.tail());
        assertThat(body).isEqualTo("--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\nab"
                + "\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-6/10\r\n\r\nfg\r\n--B--\r\n");
        assertThat(m.contentLength()).isEqualTo(body.length());
        assertThat(m.contentType()).isEqualTo("multipart/byteranges; boundary=B");
    }
}
