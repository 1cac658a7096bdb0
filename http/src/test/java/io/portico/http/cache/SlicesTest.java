package io.portico.http.cache;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Slice arithmetic: which slices a range needs, what the origin owes for each, when two slices may be spliced. */
class SlicesTest {

    private static final long MIB = 1 << 20;

    private static HttpHeaders slice(String contentRange, String... pairs) {
        HttpHeaders h = new DefaultHttpHeaders();
        h.set("Content-Range", contentRange);
        for (int i = 0; i < pairs.length; i += 2) {
            h.set(pairs[i], pairs[i + 1]);
        }
        return h;
    }

    @Test
    void slicesCoverTheObjectInFixedSteps() {
        assertThat(Slices.rangeHeader(0, MIB)).isEqualTo("bytes=0-1048575");
        assertThat(Slices.rangeHeader(3, MIB)).isEqualTo("bytes=3145728-4194303");
        assertThat(Slices.sliceOf(0, MIB)).isZero();
        assertThat(Slices.sliceOf(MIB - 1, MIB)).isZero();
        assertThat(Slices.sliceOf(MIB, MIB)).isEqualTo(1);
        assertThat(Slices.start(5, MIB)).isEqualTo(5 * MIB);
        assertThat(Slices.lastSlice(10 * MIB, MIB)).isEqualTo(9);
        assertThat(Slices.lastSlice(10 * MIB + 1, MIB)).isEqualTo(10);
        assertThat(Slices.lastSlice(1, MIB)).isZero();
    }

    @Test
    void theOriginMustAnswerExactlyTheSliceOrUpToTheEnd() {
        assertThat(Slices.answers(Slices.parseContentRange("bytes 1048576-2097151/10485760"), 1, MIB)).isTrue();
        // The last slice is short.
        assertThat(Slices.answers(Slices.parseContentRange("bytes 2097152-2500000/2500001"), 2, MIB)).isTrue();
        assertThat(Slices.answers(Slices.parseContentRange("bytes 2097152-2400000/2500001"), 2, MIB)).isFalse();
        assertThat(Slices.answers(Slices.parseContentRange("bytes 0-1048575/10485760"), 1, MIB)).isFalse();
        assertThat(Slices.answers(null, 0, MIB)).isFalse();
    }

    @Test
    void malformedContentRangesAreRejected() {
        assertThat(Slices.parseContentRange("bytes 0-9/10")).isEqualTo(new Slices.ContentRange(0, 9, 10));
        assertThat(Slices.parseContentRange("BYTES 5-9/100").length()).isEqualTo(5);
        assertThat(Slices.parseContentRange("bytes 0-9/*")).isNull();
        assertThat(Slices.parseContentRange("bytes */10")).isNull();
        assertThat(Slices.parseContentRange("bytes 9-0/10")).isNull();
        assertThat(Slices.parseContentRange("bytes 0-10/10")).isNull();
        assertThat(Slices.parseContentRange("items 0-9/10")).isNull();
        assertThat(Slices.parseContentRange("bytes -1-9/10")).isNull();
        assertThat(Slices.parseContentRange(null)).isNull();
    }

    @Test
    void slicesOfOneVersionMaySpliceAndOfTwoMayNot() {
        HttpHeaders a = slice("bytes 0-9/100", "ETag", "\"v1\"");
        assertThat(Slices.sameRepresentation(a, slice("bytes 10-19/100", "ETag", "\"v1\""))).isTrue();
        assertThat(Slices.sameRepresentation(a, slice("bytes 10-19/100", "ETag", "\"v2\""))).isFalse();
        assertThat(Slices.sameRepresentation(a, slice("bytes 10-19/101", "ETag", "\"v1\""))).isFalse();
        assertThat(Slices.sameRepresentation(a, slice("bytes 10-19/100"))).isFalse();
        assertThat(Slices.sameRepresentation(slice("bytes 0-9/100", "ETag", "W/\"v1\""),
                slice("bytes 10-19/100", "ETag", "W/\"v1\""))).isFalse();
        String date = "Sun, 22 Nov 2026 10:00:00 GMT";
        String fetched = "Sun, 22 Nov 2026 12:00:00 GMT";
        assertThat(Slices.sameRepresentation(slice("bytes 0-9/100", "Last-Modified", date, "Date", fetched),
                slice("bytes 10-19/100", "Last-Modified", date, "Date", fetched))).isTrue();
        assertThat(Slices.sameRepresentation(slice("bytes 0-9/100", "Last-Modified", date, "Date", fetched),
                slice("bytes 10-19/100", "Last-Modified", "Sun, 22 Nov 2026 11:00:00 GMT", "Date", fetched))).isFalse();
        assertThat(Slices.sameRepresentation(slice("bytes 0-9/100"), slice("bytes 10-19/100"))).isTrue();
    }

    @Test
    void aLastModifiedWithinTheSecondItWasFetchedCannotVouchForASplice() {
        String date = "Sun, 22 Nov 2026 10:00:00 GMT";
        HttpHeaders strong = slice("bytes 0-9/100", "Last-Modified", date, "Date", "Sun, 22 Nov 2026 10:00:01 GMT");
        // Fetched in the very second it was written: a second write within it keeps the date.
        HttpHeaders sameSecond = slice("bytes 10-19/100", "Last-Modified", date, "Date", date);
        assertThat(Slices.sameRepresentation(strong, sameSecond)).isFalse();
        assertThat(Slices.sameRepresentation(sameSecond, strong)).isFalse();
        assertThat(Slices.sameRepresentation(strong, slice("bytes 10-19/100", "Last-Modified", date))).isFalse();
        assertThat(Slices.sameRepresentation(strong,
                slice("bytes 10-19/100", "Last-Modified", date, "Date", "Sun, 22 Nov 2026 10:05:00 GMT"))).isTrue();
    }

    @Test
    void everySliceHasItsOwnKey() {
        assertThat(Slices.key("http://a/b", 0)).isNotEqualTo(Slices.key("http://a/b", 1)).isNotEqualTo("http://a/b");
    }
}
