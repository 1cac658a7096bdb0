package io.portico.server.admin;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One scrape of {@code /metrics} parsed from the Prometheus text format: series (name with its
 * labels as written, e.g. {@code portico_requests_total{listener="http",...}}) to values.
 */
public final class Scrape {

    private final Map<String, Double> series = new LinkedHashMap<>();
    private final String text;

    public Scrape(String text) {
        this.text = text;
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int space = line.lastIndexOf(' ');
            String value = line.substring(space + 1);
            series.put(line.substring(0, space), value.equals("NaN") ? Double.NaN : Double.parseDouble(value));
        }
    }

    public String text() {
        return text;
    }

    /** The sum of every series of {@code name} whose labels include all of {@code labels} ("k=v" each). */
    public double sum(String name, String... labels) {
        double sum = 0;
        boolean found = false;
        for (Map.Entry<String, Double> e : series.entrySet()) {
            String key = e.getKey();
            int brace = key.indexOf('{');
            String n = brace < 0 ? key : key.substring(0, brace);
            if (!n.equals(name)) {
                continue;
            }
            boolean all = true;
            for (String l : labels) {
                int eq = l.indexOf('=');
                if (!key.contains(l.substring(0, eq) + "=\"" + l.substring(eq + 1) + "\"")) {
                    all = false;
                    break;
                }
            }
            if (all) {
                sum += e.getValue();
                found = true;
            }
        }
        return found ? sum : Double.NaN;
    }

    /** Whether any series of {@code name} is present. */
    public boolean has(String name) {
        return !Double.isNaN(sum(name));
    }
}
