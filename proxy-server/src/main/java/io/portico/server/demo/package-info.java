/**
 * The built-in demo origin: a small HTTP server on loopback so that the default config shows
 * Portico proxying with nothing else installed.
 */
package io.portico.server.demo;
