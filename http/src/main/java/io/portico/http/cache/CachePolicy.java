package io.portico.http.cache;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;

import java.time.Duration;
import java.util.List;

/**
 * RFC 9111 decisions of a shared cache that need no store: whether a response may be stored
 * (section 3), how long it stays fresh (section 4.2.1, with the heuristic of section 4.2.2 and the
 * operator's {@link CacheRules}), and its age when it arrived (section 4.2.3).
 */
public final class CachePolicy {

    private CachePolicy() {
    }

    /**
     * Why a response cannot be stored, or null when it can. Reasons are short words for logs and
     * {@code Cache-Status} details.
     */
    public static String notStorable(HttpMethod method, HttpHeaders request, CacheControl requestCc, int status,
                                     HttpHeaders response, CacheControl responseCc, CacheRules rules) {
        if (method != HttpMethod.GET) {
            return "method";
        }
        if (status < 200 || status == 206 || status == 304) {
            // 206 and 304 complete or refresh a stored response; they are never stored on their own.
            return "status";
        }
        if (requestCc.noStore()) {
            return "request-no-store";
        }
        CacheControl cc = rules.ignores("cache-control") ? CacheControl.NONE : responseCc;
        boolean understood = understoodStatus(status);
        if (cc.mustUnderstand() && !understood) {
            return "must-understand";
        }
        if (cc.noStore() && !(cc.mustUnderstand() && understood)) {
            return "no-store";
        }
        if (cc.isPrivate()) {
            return "private";
        }
        if (status >= 400 && !rules.ttlByStatus().containsKey(status)) {
            // An error stored by accident answers everybody: only when the operator asked for it.
            return "error-status";
        }
        if (request.contains(HttpHeaderNames.AUTHORIZATION)
                && !(cc.isPublic() || cc.mustRevalidate() || cc.sMaxAge() != CacheControl.ABSENT)) {
            return "authorization";
        }
        if (response.contains(HttpHeaderNames.SET_COOKIE) && !rules.ignores("set-cookie")
                && !cc.privateFields().contains("set-cookie") && !cc.noCacheFields().contains("set-cookie")) {
            // Somebody's session cookie must never be handed to everybody.
            return "set-cookie";
        }
        if (!rules.ignores("vary") && varyStar(response)) {
            return "vary-star";
        }
        if (response.contains(HttpHeaderNames.CONTENT_RANGE)) {
            return "partial";
        }
        boolean explicit = cc.isPublic() || cc.maxAge() != CacheControl.ABSENT || cc.sMaxAge() != CacheControl.ABSENT
                || cc.invalidLifetime()
                || (!rules.ignores("expires") && response.contains(HttpHeaderNames.EXPIRES))
                || rules.ruleTtl(status) != null;
        if (!explicit && !heuristicallyCacheable(status)) {
            return "no-freshness";
        }
        return null;
    }

    /** Fields a shared cache must not keep from this response (section 5.2.2.7, 5.2.2.4). */
    public static List<String> fieldsToStrip(CacheControl responseCc, CacheRules rules) {
        CacheControl cc = rules.ignores("cache-control") ? CacheControl.NONE : responseCc;
        List<String> out = new java.util.ArrayList<>(cc.privateFields());
        out.addAll(cc.noCacheFields());
        if (rules.ignores("set-cookie")) {
            out.add("set-cookie");
        }
        return out;
    }

    /**
     * The freshness lifetime in milliseconds: {@code s-maxage}, else {@code max-age}, else
     * {@code Expires} minus {@code Date}, else the rule's TTL for the status, else the heuristic
     * (10% of the time since {@code Last-Modified}, capped). Zero for a response that is stale on
     * arrival (an invalid {@code Expires}, a malformed {@code max-age}).
     *
     * @param responseTime when the response arrived (epoch millis), standing in for a missing Date
     */
    public static long freshnessLifetime(int status, HttpHeaders response, CacheControl responseCc, CacheRules rules,
                                         long responseTime) {
        boolean ignoreCc = rules.ignores("cache-control");
        boolean ignoreExpires = rules.ignores("expires");
        if (!ignoreCc) {
            if (responseCc.invalidLifetime()) {
                return 0;
            }
            if (responseCc.sMaxAge() != CacheControl.ABSENT) {
                return responseCc.sMaxAge() * 1000;
            }
            if (responseCc.maxAge() != CacheControl.ABSENT) {
                return responseCc.maxAge() * 1000;
            }
        }
        if (!ignoreExpires && response.contains(HttpHeaderNames.EXPIRES)) {
            List<String> all = response.getAll(HttpHeaderNames.EXPIRES);
            long expires = HttpDates.parse(all.get(0));
            for (int i = 1; i < all.size(); i++) {
                if (HttpDates.parse(all.get(i)) != expires) {
                    return 0;
                }
            }
            if (expires == HttpDates.INVALID) {
                // Section 5.3: an invalid Expires, such as "0", means already expired.
                return 0;
            }
            return Math.max(0, expires - dateValue(response, responseTime));
        }
        Duration rule = rules.ruleTtl(status);
        if (rule != null) {
            return rule.toMillis();
        }
        if (rules.heuristicMax().isZero() || !(heuristicallyCacheable(status) || (!ignoreCc && responseCc.isPublic()))) {
            return 0;
        }
        long lastModified = HttpDates.parse(response.get(HttpHeaderNames.LAST_MODIFIED));
        if (lastModified == HttpDates.INVALID) {
            return 0;
        }
        long since = dateValue(response, responseTime) - lastModified;
        return since <= 0 ? 0 : Math.min(since / 10, rules.heuristicMax().toMillis());
    }

    /**
     * The corrected initial age of section 4.2.3, in milliseconds: the larger of the apparent age
     * (response time minus Date) and the Age header plus the time the request took.
     */
    public static long correctedInitialAge(HttpHeaders response, long requestTime, long responseTime) {
        long date = HttpDates.parse(response.get(HttpHeaderNames.DATE));
        long apparentAge = date == HttpDates.INVALID ? 0 : Math.max(0, responseTime - date);
        long ageValue = 0;
        String age = response.get(HttpHeaderNames.AGE);
        if (age != null) {
            long a = CacheControl.delta(age.trim());
            ageValue = a < 0 ? 0 : a * 1000;
        }
        long responseDelay = Math.max(0, responseTime - requestTime);
        long correctedAgeValue = ageValue + responseDelay;
        return Math.max(apparentAge, correctedAgeValue);
    }

    /** Statuses with a heuristic lifetime when nothing else is said (RFC 9110 section 15.1). */
    public static boolean heuristicallyCacheable(int status) {
        return switch (status) {
            case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501 -> true;
            default -> false;
        };
    }

    /** Statuses whose caching requirements this cache implements (for {@code must-understand}). */
    static boolean understoodStatus(int status) {
        return heuristicallyCacheable(status) || status == 302 || status == 303 || status == 307 || status == 206
                || status == 304 || status == 403 || status == 500 || status == 502 || status == 503
                || status == 504;
    }

    static boolean varyStar(HttpHeaders response) {
        for (String v : response.getAll(HttpHeaderNames.VARY)) {
            for (String part : v.split(",")) {
                if (part.trim().equals("*")) {
                    return true;
                }
            }
        }
        return false;
    }

    private static long dateValue(HttpHeaders response, long responseTime) {
        long date = HttpDates.parse(response.get(HttpHeaderNames.DATE));
        return date == HttpDates.INVALID ? responseTime : date;
    }
}
