/**
 * The access log: event loops fill an {@link io.portico.server.log.AccessLogRecord} and hand it
 * over without waiting; one writer thread formats the lines (nginx "combined" plus Portico's
 * fields) and writes them in batches.
 */
package io.portico.server.log;
