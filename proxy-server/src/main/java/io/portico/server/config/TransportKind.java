package io.portico.server.config;

/** Which I/O transport the event loops use; {@code auto} tries io_uring, then epoll, then NIO. */
public enum TransportKind {
    AUTO, IO_URING, EPOLL, NIO
}
