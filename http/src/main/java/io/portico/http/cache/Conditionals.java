package io.portico.http.cache;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * Client preconditions a cache answers itself (RFC 9110 section 13, RFC 9111 section 4.3.2):
 * {@code If-None-Match} with the weak comparison, which wins over {@code If-Modified-Since}.
 */
public final class Conditionals {

    private Conditionals() {
    }

    /** Whether a GET/HEAD carrying these headers should get 304 Not Modified for {@code stored}. */
    public static boolean notModified(HttpHeaders request, HttpHeaders stored) {
        String inm = joined(request, HttpHeaderNames.IF_NONE_MATCH);
        if (inm != null) {
            return etagMatches(inm, stored.get(HttpHeaderNames.ETAG));
        }
        String ims = request.get(HttpHeaderNames.IF_MODIFIED_SINCE);
        if (ims == null) {
            return false;
        }
        long since = HttpDates.parse(ims);
        if (since == HttpDates.INVALID) {
            return false;
        }
        // Section 4.3.2: Last-Modified, else the Date the response was generated.
        long modified = HttpDates.parse(stored.get(HttpHeaderNames.LAST_MODIFIED));
        if (modified == HttpDates.INVALID) {
            modified = HttpDates.parse(stored.get(HttpHeaderNames.DATE));
        }
        return modified != HttpDates.INVALID && modified <= since;
    }

    /** Whether the request carries preconditions this class answers. */
    public static boolean present(HttpHeaders request) {
        return request.contains(HttpHeaderNames.IF_NONE_MATCH) || request.contains(HttpHeaderNames.IF_MODIFIED_SINCE);
    }

    /** Weak comparison of an {@code If-None-Match} list ({@code *} or entity tags) with one ETag. */
    public static boolean etagMatches(String list, String etag) {
        String trimmed = list.trim();
        if (trimmed.equals("*")) {
            // "*" matches any current representation, and a stored one is current.
            return true;
        }
        if (etag == null) {
            return false;
        }
        String want = opaque(etag.trim());
        if (want == null) {
            return false;
        }
        int i = 0;
        int n = list.length();
        while (i < n) {
            char c = list.charAt(i);
            if (c == ',' || c == ' ' || c == '\t') {
                i++;
                continue;
            }
            int start = i;
            if (list.startsWith("W/", i)) {
                i += 2;
            }
            if (i >= n || list.charAt(i) != '"') {
                // Not an entity-tag: skip to the next element.
                while (i < n && list.charAt(i) != ',') {
                    i++;
                }
                continue;
            }
            int close = list.indexOf('"', i + 1);
            if (close < 0) {
                return false;
            }
            String tag = opaque(list.substring(start, close + 1));
            if (want.equals(tag)) {
                return true;
            }
            i = close + 1;
        }
        return false;
    }

    /**
     * Whether a 304 the origin sent to the cache's own revalidation identifies {@code stored} for
     * update (RFC 9111 section 4.3.4). An entity-tag in the 304 must match the stored one, strongly
     * when the 304's is strong and weakly when it is weak; without one, a Last-Modified in the 304
     * must not contradict the stored one. A 304 without validators updates the one response asked
     * about. A stored response the 304 does not identify must not be updated: it describes another
     * representation than the one stored.
     */
    public static boolean identifiesForUpdate(HttpHeaders stored, HttpHeaders notModified) {
        String etag = notModified.get(HttpHeaderNames.ETAG);
        if (etag != null) {
            String mine = stored.get(HttpHeaderNames.ETAG);
            if (mine == null) {
                return false;
            }
            String theirs = etag.trim();
            String ours = mine.trim();
            if (!theirs.startsWith("W/")) {
                // The strong comparison: both strong and the same.
                return !ours.startsWith("W/") && theirs.equals(ours) && opaque(theirs) != null;
            }
            String a = opaque(theirs);
            return a != null && a.equals(opaque(ours));
        }
        String lastModified = notModified.get(HttpHeaderNames.LAST_MODIFIED);
        String mine = stored.get(HttpHeaderNames.LAST_MODIFIED);
        if (lastModified == null || mine == null) {
            return true;
        }
        long theirs = HttpDates.parse(lastModified);
        return theirs != HttpDates.INVALID && theirs == HttpDates.parse(mine);
    }

    /** The opaque part of an entity-tag, quotes included, weakness dropped; null when malformed. */
    private static String opaque(String tag) {
        String t = tag.startsWith("W/") ? tag.substring(2) : tag;
        if (t.length() < 2 || t.charAt(0) != '"' || t.charAt(t.length() - 1) != '"') {
            return null;
        }
        return t;
    }

    private static String joined(HttpHeaders headers, CharSequence name) {
        java.util.List<String> all = headers.getAll(name);
        if (all.isEmpty()) {
            return null;
        }
        return all.size() == 1 ? all.get(0) : String.join(",", all);
    }
}
