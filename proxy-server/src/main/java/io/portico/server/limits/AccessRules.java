package io.portico.server.limits;

import io.portico.http.CidrSet;
import io.portico.server.config.AccessConfig;

import java.net.InetAddress;

/** Compiled {@link AccessConfig}: a deny set that always wins, then an allow set when one is given. */
public final class AccessRules {

    /** Lets everyone in. */
    public static final AccessRules OPEN = new AccessRules(CidrSet.EMPTY, CidrSet.EMPTY, false);

    private final CidrSet allow;
    private final CidrSet deny;
    private final boolean allowList;

    private AccessRules(CidrSet allow, CidrSet deny, boolean allowList) {
        this.allow = allow;
        this.deny = deny;
        this.allowList = allowList;
    }

    public static AccessRules of(AccessConfig config) {
        if (!config.restricts()) {
            return OPEN;
        }
        return new AccessRules(CidrSet.parse(config.allow()), CidrSet.parse(config.deny()), !config.allow().isEmpty());
    }

    /** Whether any rule is set (so callers can skip the address look-up). */
    public boolean restricts() {
        return this != OPEN;
    }

    /** @param client the peer's address; null (not an IP connection) is let in only when no rule is set */
    public boolean permits(InetAddress client) {
        if (this == OPEN) {
            return true;
        }
        if (client == null) {
            return false;
        }
        if (deny.contains(client)) {
            return false;
        }
        return !allowList || allow.contains(client);
    }
}
