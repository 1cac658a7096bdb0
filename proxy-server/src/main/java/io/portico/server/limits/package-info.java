/**
 * Protection of the proxy as a whole against too many or too greedy clients: connection caps
 * that pause accepting ({@link io.portico.server.limits.ConnectionGate}), CIDR allow/deny rules
 * ({@link io.portico.server.limits.AccessRules}), token-bucket rate limits
 * ({@link io.portico.server.limits.RateLimiter}) and the buffer memory budget
 * ({@link io.portico.server.limits.BufferBudget}). Protocol-specific limits (header sizes,
 * timeouts) live with their protocol's front end.
 */
package io.portico.server.limits;
