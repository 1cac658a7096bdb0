package io.portico.server.log;

/** Turns one record into one line (with its newline). Used by the writer thread only. */
interface LineFormat {

    void format(AccessLogRecord r, LineBuffer out);
}
