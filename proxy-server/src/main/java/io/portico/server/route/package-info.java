/**
 * Routing compiled from config: a virtual server by Host (exact, then longest wildcard, then the
 * default), then the first route whose path test matches, with its action and header edits.
 */
package io.portico.server.route;
