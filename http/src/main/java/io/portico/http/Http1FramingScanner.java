package io.portico.http;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * A strict byte-level check of HTTP/1.1 message framing (RFC 9112), run over a connection's bytes
 * before the HTTP decoder sees them: requests from clients ({@link #forRequests()}) or responses
 * from upstreams ({@link #forResponses()}). Netty's decoder is lenient where two parsers can disagree
 * about where a request ends — it unfolds obs-fold lines, skips repeated spaces in the request
 * line, reads chunk sizes and chunk endings loosely — and a proxy that accepts what its upstream
 * reads differently forwards a smuggled request. This scanner accepts only the strict grammar, so
 * whatever it passes, every parser frames the same way:
 *
 * <ul>
 *   <li>status line (responses): {@code HTTP/d.d SP 3DIGIT [SP reason] CRLF}; the body then follows
 *       RFC 9112 section 6.3: none after 1xx, 204, 304 or a HEAD request, chunked, a length, or
 *       until the connection closes; after 101 the connection is no longer HTTP</li>
 *   <li>request line: {@code token SP target SP HTTP/d.d CRLF}, one space each, the target visible
 *       ASCII without {@code #}; empty lines before it are skipped (RFC 9112 section 2.2)</li>
 *   <li>header and trailer lines: a token name directly followed by {@code :}, a value without
 *       control characters (HTAB allowed), CRLF; no obs-fold, no bare CR or LF</li>
 *   <li>framing: one Content-Length of plain digits, or one Transfer-Encoding whose last coding is
 *       {@code chunked} (never both, never on HTTP/1.0)</li>
 *   <li>chunks: 1–16 hex digits, optional extensions without control characters, CRLF; data
 *       followed by exactly CRLF; the last chunk's trailer section</li>
 * </ul>
 *
 * <p>It keeps a few fields of state and allocates nothing per request; body bytes are skipped,
 * not visited. Sizes are not its business (the decoder enforces them). Not thread-safe: one per
 * connection.
 */
public final class Http1FramingScanner {

    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final int MAX_CHUNK_LINE = 4096;
    private static final int MAX_TE = 256;
    private static final byte[] CONTENT_LENGTH = "content-length".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final byte[] TRANSFER_ENCODING = "transfer-encoding".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final byte[] HTTP_SLASH = "HTTP/".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final boolean[] TCHAR = new boolean[256];

    static {
        for (int c = '0'; c <= '9'; c++) {
            TCHAR[c] = true;
        }
        for (int c = 'a'; c <= 'z'; c++) {
            TCHAR[c] = true;
            TCHAR[c - 32] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TCHAR[c] = true;
        }
    }

    /**
     * Whether a request target may hold byte (or char) {@code b}: visible ASCII other than '#'. No
     * whitespace, control character, fragment or obs-text, which an HTTP/1.1 recipient splitting its
     * request line on any whitespace (RFC 9112 section 3) could read as another target. HTTP/2 and
     * HTTP/3 paths, which become HTTP/1.1 request lines, are held to the same.
     */
    public static boolean targetByte(int b) {
        return b >= 0x21 && b <= 0x7e && b != '#';
    }

    /** Bytes a request target may hold, up to the space that ends it (see TARGET in {@link #process}). */
    private static final boolean[] TARGET_BYTES = new boolean[256];
    /** Bytes a request's field value may hold, up to its CR (see {@link #fieldValue}); obs-text is refused there too. */
    private static final boolean[] VALUE_BYTES = new boolean[256];
    /**
     * The same for a response's field values, which may also hold obs-text (0x80-0xFF, RFC 9110
     * section 5.5): an origin's Latin-1 file name in Content-Disposition is its business, and
     * such bytes cannot change the framing. Requests keep the stricter rule.
     */
    private static final boolean[] RESPONSE_VALUE_BYTES = new boolean[256];

    static {
        for (int b = 0; b < 256; b++) {
            TARGET_BYTES[b] = targetByte(b);
            VALUE_BYTES[b] = b >= 0x20 && b < 0x7f || b == '\t';
            RESPONSE_VALUE_BYTES[b] = VALUE_BYTES[b] || b >= 0x80;
        }
    }

    /**
     * Where a scan copies a window of the buffer's bytes to walk them as an array: one copy of a
     * head's bytes is cheaper than a bounds-checked read of each byte from a direct buffer, and
     * one array is shared by every scanner on a thread (a scan never keeps it).
     */
    private static final int WINDOW = 512;
    /**
     * The window between a chunk's data and the next: a chunk line is a few bytes and the next
     * chunk's data follows it, which is skipped, not walked; a full window there would copy most
     * of a body of 512-byte chunks.
     */
    private static final int CHUNK_WINDOW = 32;
    private static final FastThreadLocal<byte[]> WINDOWS = new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[WINDOW];
        }
    };

    private enum State {
        START, START_LF, METHOD, TARGET, VERSION, STATUS, REASON, LINE_LF,
        FIELD_START, FIELD_NAME, FIELD_VALUE, FIELD_LF, END_LF,
        BODY, UNTIL_CLOSE, CHUNK_SIZE, CHUNK_BWS, CHUNK_EXT, CHUNK_SIZE_LF, CHUNK_DATA, CHUNK_DATA_CR, CHUNK_DATA_LF,
        FAILED
    }

    private final boolean response;
    private State state = State.START;
    private boolean headRequest;
    /** Responses only: requests sent whose final response has not begun yet. */
    private int outstanding;
    private int status;
    private String error;
    private boolean failedBetweenMessages;
    private int pos;
    private int versionMajor;
    private int versionMinor;
    private boolean trailers;
    private int nameLength;
    private boolean maybeContentLength;
    private boolean maybeTransferEncoding;
    /** 0: another header; 1: Content-Length; 2: Transfer-Encoding. */
    private int field;
    private boolean sawContentLength;
    private boolean sawTransferEncoding;
    private boolean lengthDigits;
    private boolean lengthDone;
    private long contentLength;
    /** The Transfer-Encoding value, made at its first byte: most connections never send one. */
    private StringBuilder transferEncoding;
    private long remaining;
    private int chunkDigits;
    private int chunkLine;

    private Http1FramingScanner(boolean response) {
        this.response = response;
    }

    /** A scanner for the requests a client sends. */
    public static Http1FramingScanner forRequests() {
        return new Http1FramingScanner(false);
    }

    /** A scanner for the responses an upstream sends; call {@link #requestSent} for each request. */
    public static Http1FramingScanner forResponses() {
        return new Http1FramingScanner(true);
    }

    /** Responses only: a request went out, so its response comes next ({@code head}: it has no body). */
    public void requestSent(boolean head) {
        headRequest = head;
        outstanding++;
    }

    /**
     * Checks the readable bytes of {@code buf} as the continuation of what came before; the
     * buffer's indexes are not changed.
     *
     * @return -1 when every byte is acceptable, else the index of the first bad byte (see {@link #error()})
     */
    public int scan(ByteBuf buf) {
        int i = buf.readerIndex();
        int end = buf.writerIndex();
        byte[] window = null;
        // window[k - base] is the buffer's byte k for base <= k < limit.
        int base = 0;
        int limit = 0;
        while (i < end) {
            if (state == State.FAILED) {
                return i;
            }
            if (state == State.UNTIL_CLOSE) {
                return -1;
            }
            if (state == State.BODY || state == State.CHUNK_DATA) {
                long n = Math.min(remaining, end - i);
                i += (int) n;
                remaining -= n;
                if (remaining == 0) {
                    state = state == State.BODY ? State.START : State.CHUNK_DATA_CR;
                }
                continue;
            }
            if (i >= limit) {
                if (window == null) {
                    window = WINDOWS.get();
                }
                base = i;
                limit = i + Math.min(inChunkLine() ? CHUNK_WINDOW : WINDOW, end - i);
                buf.getBytes(i, window, 0, limit - i);
            }
            int stop = walk(window, i - base, limit - base);
            if (stop < 0) {
                i = limit;
            } else if (state == State.FAILED) {
                return base + stop;
            } else {
                // Stopped to skip body bytes: carry on after the byte that began them.
                i = base + stop + 1;
            }
        }
        return state == State.FAILED ? end : -1;
    }

    /**
     * Runs the state machine over {@code bytes[from..to)}; the runs most of a head is made of (a
     * target, a field name, a field value that only has to be free of control characters) go by
     * in tight loops instead of through it.
     *
     * @return -1 when every byte was taken, else the index of the byte after which the machine
     *         stopped (it failed there, or a body begins after it)
     */
    private int walk(byte[] bytes, int from, int to) {
        int i = from;
        while (i < to) {
            if (state == State.TARGET) {
                int start = i;
                while (i < to && TARGET_BYTES[bytes[i] & 0xff]) {
                    i++;
                }
                pos += i - start;
            } else if (state == State.FIELD_VALUE && field == 0) {
                boolean[] allowed = response ? RESPONSE_VALUE_BYTES : VALUE_BYTES;
                while (i < to && allowed[bytes[i] & 0xff]) {
                    i++;
                }
            } else if (state == State.FIELD_NAME) {
                i = fieldNameRun(bytes, i, to);
            }
            if (i == to) {
                return -1;
            }
            if (!process(bytes[i])) {
                return i;
            }
            i++;
        }
        return -1;
    }

    /** Takes the token bytes of a field name from {@code i} on, as {@link #fieldName} would; returns where they end. */
    private int fieldNameRun(byte[] bytes, int i, int to) {
        if (maybeContentLength || maybeTransferEncoding) {
            for (; i < to; i++) {
                byte b = bytes[i];
                if (!tchar(b)) {
                    return i;
                }
                nameByte(b);
                if (!maybeContentLength && !maybeTransferEncoding) {
                    i++;
                    break;
                }
            }
        }
        int start = i;
        while (i < to && tchar(bytes[i])) {
            i++;
        }
        nameLength += i - start;
        return i;
    }

    private boolean inChunkLine() {
        return switch (state) {
            case CHUNK_SIZE, CHUNK_BWS, CHUNK_EXT, CHUNK_SIZE_LF, CHUNK_DATA_CR, CHUNK_DATA_LF -> true;
            default -> false;
        };
    }

    /** Why the last {@link #scan} failed, as a short reason for the access log; null when it did not. */
    public String error() {
        return error;
    }

    /** True between requests: nothing of a next request has been seen. */
    public boolean idle() {
        return state == State.START;
    }

    private boolean fail(String reason) {
        error = reason;
        failedBetweenMessages = state == State.START;
        state = State.FAILED;
        return false;
    }

    /**
     * Whether the last {@link #scan} failed at the first byte of a message: everything before it
     * was whole messages.
     */
    public boolean failedBetweenMessages() {
        return failedBetweenMessages;
    }

    /** Takes one byte; false when the machine failed on it or a body begins after it. */
    private boolean process(byte b) {
        switch (state) {
            case START:
                if (response) {
                    if (outstanding <= 0) {
                        // A response nobody asked for (RFC 9112 section 6.3: not to be passed on):
                        // taken for the next request's answer, it would answer the wrong client.
                        return fail("unsolicited_response");
                    }
                    resetMessage();
                    state = State.VERSION;
                    pos = 0;
                    return version(b);
                }
                if (b == CR) {
                    state = State.START_LF;
                    return true;
                }
                if (!tchar(b)) {
                    return fail("bad_method");
                }
                resetMessage();
                state = State.METHOD;
                return true;
            case START_LF:
                if (b != LF) {
                    return fail("bare_cr");
                }
                state = State.START;
                return true;
            case METHOD:
                if (b == ' ') {
                    state = State.TARGET;
                    pos = 0;
                    return true;
                }
                return tchar(b) || fail("bad_method");
            case TARGET:
                if (b == ' ') {
                    if (pos == 0) {
                        return fail("bad_request_line");
                    }
                    state = State.VERSION;
                    pos = 0;
                    return true;
                }
                if (b < 0x21 || b > 0x7e || b == '#') {
                    return fail("bad_request_target");
                }
                pos++;
                return true;
            case VERSION:
                return version(b);
            case STATUS:
                return statusByte(b);
            case REASON:
                if (b == CR) {
                    state = State.LINE_LF;
                    return true;
                }
                // A reason phrase may hold obs-text (RFC 9112 section 4): only controls are refused.
                if ((b >= 0 && b < 0x20 && b != '\t') || b == 0x7f) {
                    return fail("bad_status_line");
                }
                return true;
            case LINE_LF:
                if (b != LF) {
                    return fail("bare_cr");
                }
                state = State.FIELD_START;
                return true;
            case FIELD_START:
                return fieldStart(b);
            case FIELD_NAME:
                return fieldName(b);
            case FIELD_VALUE:
                return fieldValue(b);
            case FIELD_LF:
                if (b != LF) {
                    return fail("bare_cr");
                }
                state = State.FIELD_START;
                return true;
            case END_LF:
                if (b != LF) {
                    return fail("bare_cr");
                }
                return trailers ? messageDone() : headDone();
            case CHUNK_SIZE:
                return chunkSize(b);
            case CHUNK_BWS:
                if (b == ' ' || b == '\t') {
                    return chunkLine();
                }
                if (b == ';') {
                    state = State.CHUNK_EXT;
                    return chunkLine();
                }
                return fail("bad_chunk_size");
            case CHUNK_EXT:
                if (b == CR) {
                    state = State.CHUNK_SIZE_LF;
                    return true;
                }
                if ((b < 0x20 && b != '\t') || b == 0x7f) {
                    return fail("bad_chunk_extension");
                }
                return chunkLine();
            case CHUNK_SIZE_LF:
                if (b != LF) {
                    return fail("bad_chunk_size");
                }
                if (remaining == 0) {
                    trailers = true;
                    state = State.FIELD_START;
                    return true;
                }
                state = State.CHUNK_DATA;
                return false;
            case CHUNK_DATA_CR:
                if (b != CR) {
                    return fail("bad_chunk_end");
                }
                state = State.CHUNK_DATA_LF;
                return true;
            case CHUNK_DATA_LF:
                if (b != LF) {
                    return fail("bad_chunk_end");
                }
                state = State.CHUNK_SIZE;
                chunkDigits = 0;
                chunkLine = 0;
                remaining = 0;
                return true;
            default:
                return false;
        }
    }

    private void resetMessage() {
        trailers = false;
        sawContentLength = false;
        sawTransferEncoding = false;
        lengthDigits = false;
        lengthDone = false;
        contentLength = 0;
        if (transferEncoding != null) {
            transferEncoding.setLength(0);
        }
        versionMajor = 0;
        versionMinor = 0;
        status = 0;
    }

    private boolean version(byte b) {
        if (pos < HTTP_SLASH.length) {
            if (b != HTTP_SLASH[pos]) {
                return fail("bad_version");
            }
        } else if (pos == 5 || pos == 7) {
            if (b < '0' || b > '9') {
                return fail("bad_version");
            }
            if (pos == 5) {
                versionMajor = b - '0';
            } else {
                versionMinor = b - '0';
            }
        } else if (pos == 6) {
            if (b != '.') {
                return fail("bad_version");
            }
        } else if (pos == 8) {
            if (response) {
                if (b != ' ') {
                    return fail("bad_status_line");
                }
                state = State.STATUS;
                pos = 0;
                status = 0;
                return true;
            }
            if (b != CR) {
                return fail(b == LF ? "bare_lf" : "bad_version");
            }
            state = State.LINE_LF;
            return true;
        }
        pos++;
        return true;
    }

    private boolean statusByte(byte b) {
        if (pos < 3) {
            if (b < '0' || b > '9') {
                return fail("bad_status_line");
            }
            status = status * 10 + (b - '0');
            pos++;
            return true;
        }
        if (b == ' ') {
            state = State.REASON;
            return true;
        }
        if (b == CR) {
            state = State.LINE_LF;
            return true;
        }
        return fail("bad_status_line");
    }

    private boolean fieldStart(byte b) {
        if (b == CR) {
            state = State.END_LF;
            return true;
        }
        if (b == ' ' || b == '\t') {
            return fail("obs_fold");
        }
        if (!tchar(b)) {
            return fail(b == LF ? "bare_lf" : "bad_header_name");
        }
        state = State.FIELD_NAME;
        nameLength = 0;
        maybeContentLength = !trailers;
        maybeTransferEncoding = !trailers;
        return fieldName(b);
    }

    private boolean fieldName(byte b) {
        if (b == ':') {
            field = maybeContentLength && nameLength == CONTENT_LENGTH.length ? 1
                    : maybeTransferEncoding && nameLength == TRANSFER_ENCODING.length ? 2 : 0;
            if (field == 1) {
                if (sawContentLength) {
                    return fail("repeated_content_length");
                }
                sawContentLength = true;
            } else if (field == 2) {
                if (sawTransferEncoding) {
                    return fail("repeated_transfer_encoding");
                }
                sawTransferEncoding = true;
            }
            state = State.FIELD_VALUE;
            return true;
        }
        if (!tchar(b)) {
            return fail(b == ' ' || b == '\t' ? "space_before_colon" : "bad_header_name");
        }
        nameByte(b);
        return true;
    }

    /** One more token byte of a field name: is it still on its way to Content-Length or Transfer-Encoding? */
    private void nameByte(byte b) {
        byte lower = b >= 'A' && b <= 'Z' ? (byte) (b + 32) : b;
        maybeContentLength &= nameLength < CONTENT_LENGTH.length && CONTENT_LENGTH[nameLength] == lower;
        maybeTransferEncoding &= nameLength < TRANSFER_ENCODING.length && TRANSFER_ENCODING[nameLength] == lower;
        nameLength++;
    }

    private boolean fieldValue(byte b) {
        if (b == CR) {
            if (field == 1 && !lengthDigits) {
                return fail("bad_content_length");
            }
            state = State.FIELD_LF;
            return true;
        }
        if ((b < 0x20 && b != '\t' && (b >= 0 || !response)) || b == 0x7f) {
            return fail(b == LF ? "bare_lf" : "control_character_in_header");
        }
        if (field == 1) {
            return lengthByte(b);
        }
        if (field == 2) {
            if (transferEncoding == null) {
                transferEncoding = new StringBuilder();
            } else if (transferEncoding.length() >= MAX_TE) {
                return fail("bad_transfer_encoding");
            }
            transferEncoding.append((char) (b & 0xff));
        }
        return true;
    }

    private boolean lengthByte(byte b) {
        if (b == ' ' || b == '\t') {
            lengthDone = lengthDigits;
            return true;
        }
        if (b < '0' || b > '9' || lengthDone) {
            return fail("bad_content_length");
        }
        lengthDigits = true;
        if (contentLength > (Long.MAX_VALUE - 9) / 10) {
            return fail("bad_content_length");
        }
        contentLength = contentLength * 10 + (b - '0');
        return true;
    }

    /** The head ended: decide how the body is framed. */
    private boolean headDone() {
        if (response) {
            if (status < 100) {
                return fail("bad_status_line");
            }
            if (status >= 200 || status == 101) {
                // The final response to the oldest request outstanding (1xx are interim).
                outstanding--;
            }
            if (status == 101) {
                // The connection now carries another protocol (a WebSocket): no more HTTP to check.
                state = State.UNTIL_CLOSE;
                return true;
            }
            if (status < 200 || status == 204 || status == 304 || headRequest) {
                // No body, whatever the fields say; the framing fields must still not conflict.
                if (sawTransferEncoding && sawContentLength) {
                    return fail("content_length_with_transfer_encoding");
                }
                state = State.START;
                return true;
            }
        }
        if (sawTransferEncoding) {
            if (sawContentLength) {
                return fail("content_length_with_transfer_encoding");
            }
            if (versionMajor == 1 && versionMinor == 0) {
                return fail("transfer_encoding_in_http10");
            }
            if (!lastCodingIsChunked()) {
                return fail("transfer_encoding_not_chunked");
            }
            if (response && !onlyChunked()) {
                // A response coded on top of chunked (gzip, chunked) would reach the client
                // de-chunked but still gzipped, labelled as neither: refused, as nginx refuses any
                // upstream Transfer-Encoding but chunked (RFC 9112 section 6.1 has the recipient
                // undo every coding, which a proxy re-framing the body cannot pass on).
                return fail("transfer_encoding_not_only_chunked");
            }
            state = State.CHUNK_SIZE;
            chunkDigits = 0;
            chunkLine = 0;
            remaining = 0;
            return true;
        }
        if (sawContentLength && contentLength > 0) {
            remaining = contentLength;
            state = State.BODY;
            return false;
        }
        // A response with neither runs until the connection closes.
        state = response && !sawContentLength ? State.UNTIL_CLOSE : State.START;
        return true;
    }

    private boolean messageDone() {
        state = State.START;
        return true;
    }

    /** The Transfer-Encoding is {@code chunked} alone (its last coding is known to be chunked). */
    private boolean onlyChunked() {
        for (int i = 0; i < transferEncoding.length(); i++) {
            if (transferEncoding.charAt(i) == ',') {
                return false;
            }
        }
        return true;
    }

    private boolean lastCodingIsChunked() {
        // The list's elements are tokens separated by commas and optional whitespace; empty ones are
        // not allowed here (a lenient parser and a strict one would disagree about them).
        if (transferEncoding == null) {
            return false;
        }
        int end = transferEncoding.length();
        while (end > 0 && isOws(transferEncoding.charAt(end - 1))) {
            end--;
        }
        int start = end;
        while (start > 0 && transferEncoding.charAt(start - 1) != ',' && !isOws(transferEncoding.charAt(start - 1))) {
            start--;
        }
        if (end - start != 7 || !transferEncoding.substring(start, end).equalsIgnoreCase("chunked")) {
            return false;
        }
        boolean expectToken = true;
        for (int i = 0; i < end; i++) {
            char c = transferEncoding.charAt(i);
            if (isOws(c)) {
                continue;
            }
            if (c == ',') {
                if (expectToken) {
                    return false;
                }
                expectToken = true;
            } else if (c < 256 && TCHAR[c]) {
                expectToken = false;
            } else {
                return false;
            }
        }
        return true;
    }

    private boolean chunkSize(byte b) {
        int digit = Character.digit(b, 16);
        if (digit >= 0) {
            if (++chunkDigits > 16 || remaining > (Long.MAX_VALUE >> 4)) {
                return fail("bad_chunk_size");
            }
            remaining = remaining << 4 | digit;
            return chunkLine();
        }
        if (chunkDigits == 0) {
            return fail("bad_chunk_size");
        }
        if (b == CR) {
            state = State.CHUNK_SIZE_LF;
            return true;
        }
        if (b == ';') {
            state = State.CHUNK_EXT;
            return chunkLine();
        }
        if (b == ' ' || b == '\t') {
            state = State.CHUNK_BWS;
            return chunkLine();
        }
        return fail("bad_chunk_size");
    }

    private boolean chunkLine() {
        return ++chunkLine <= MAX_CHUNK_LINE || fail("chunk_line_too_long");
    }

    private static boolean tchar(byte b) {
        return TCHAR[b & 0xff];
    }

    private static boolean isOws(char c) {
        return c == ' ' || c == '\t';
    }
}
