/**
 * The HTTP/3 load generator of {@code bin/bench --suite h2}: Debian's h2load has no QUIC, so this
 * small Netty program loads Portico's HTTP/3 listener the way h2load loads the HTTP/2 ones.
 */
package io.portico.loadtests.h3;
