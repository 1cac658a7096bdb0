/**
 * Layer 4: {@code protocol: tcp} and {@code udp} listeners relaying bytes or datagrams to an
 * upstream group (nginx {@code stream}, HAProxy {@code mode tcp}), with splice(2) on epoll, TLS
 * termination or SNI routing without termination, and the PROXY protocol in both directions
 * (accepted on any listener from trusted peers, sent to groups that ask for it).
 *
 * <p>Flow control lives in {@link io.portico.server.l4.TcpRelay}: both channels have
 * {@code AUTO_READ} off, and a side is read again only while the other side can take more.
 */
package io.portico.server.l4;
