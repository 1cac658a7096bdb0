package io.portico.server.config;

import io.portico.http.CidrSet;

import java.util.List;

/**
 * Client address rules, as nginx's {@code allow}/{@code deny}: a client in {@code deny} is refused;
 * when {@code allow} is not empty, a client outside it is refused too. Both empty lets everyone in.
 * Refused HTTP requests get 403.
 *
 * @param allow  CIDRs (or single addresses) let in; empty means everyone not denied
 * @param deny   CIDRs refused, even when they are also in {@code allow}
 */
public record AccessConfig(List<String> allow, List<String> deny) {

    public AccessConfig {
        allow = List.copyOf(allow);
        deny = List.copyOf(deny);
        check("allow", allow);
        check("deny", deny);
    }

    /** Whether any rule is set. */
    public boolean restricts() {
        return !allow.isEmpty() || !deny.isEmpty();
    }

    private static void check(String key, List<String> cidrs) {
        for (int i = 0; i < cidrs.size(); i++) {
            try {
                CidrSet.parse(List.of(cidrs.get(i)));
            } catch (IllegalArgumentException e) {
                throw new InvalidConfigException(key + "[" + i + "]", e.getMessage());
            }
        }
    }
}
