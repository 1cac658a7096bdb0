package io.portico.server.upstream.balance;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The ketama algorithm written the plain way (String bytes, a fresh MessageDigest, a TreeMap where the
 * last member written at a point wins), to check the optimised ring and hash against.
 */
final class KetamaReference {
    private final TreeMap<Long, String> ring = new TreeMap<>();

    KetamaReference(List<? extends Member> members, int virtualNodes) {
        for (Member m : members) {
            int points = virtualNodes * m.weight();
            for (int i = 0; i * 4 < points; i++) {
                byte[] d = md5(m.key() + "-" + i);
                for (int h = 0; h < 4 && i * 4 + h < points; h++) {
                    ring.put(littleEndian(d, h * 4), m.key());
                }
            }
        }
    }

    String lookup(long hash) {
        Map.Entry<Long, String> e = ring.ceilingEntry(hash);
        return (e != null ? e : ring.firstEntry()).getValue();
    }

    static long hash(String key) {
        return littleEndian(md5(key), 0);
    }

    private static long littleEndian(byte[] d, int o) {
        return ((long) (d[o + 3] & 0xFF) << 24) | ((d[o + 2] & 0xFF) << 16) | ((d[o + 1] & 0xFF) << 8) | (d[o] & 0xFF);
    }

    private static byte[] md5(String s) {
        try {
            return MessageDigest.getInstance("MD5").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
