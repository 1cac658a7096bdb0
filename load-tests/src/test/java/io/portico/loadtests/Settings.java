package io.portico.loadtests;

/**
 * Reads simulation parameters from system properties, which {@code bin/loadtest} and
 * {@code mvn -Dname=value} set, and fails fast on a malformed value rather than running a
 * different load than asked for.
 */
final class Settings {

    private Settings() {
    }

    static String string(String name, String fallback) {
        String value = System.getProperty(name);
        return value == null || value.isBlank() ? fallback : value.trim();
    }

    static int positiveInt(String name, int fallback) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(value.trim());
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // reported below with the property's name
        }
        throw new IllegalArgumentException("system property " + name + " must be a positive integer, got '" + value + "'");
    }
}
