package io.portico.tls;

import java.util.ArrayList;
import java.util.List;

/**
 * Server names and the key material served for them. Names are exact ({@code api.example.com}) or
 * a leading wildcard of one label ({@code *.example.com}); an empty list means the names the
 * certificates themselves cover. At most one RSA and one EC material may be given: clients that
 * can verify ECDSA get the EC certificate, the others the RSA one.
 */
public record SniCertificate(List<String> names, List<KeyMaterial> material) {

    public SniCertificate {
        material = material == null ? List.of() : List.copyOf(material);
        List<String> normalised = new ArrayList<>();
        for (String name : names == null ? List.<String>of() : names) {
            String n = ServerNames.normalise(name);
            if (!n.isEmpty() && !normalised.contains(n)) {
                normalised.add(n);
            }
        }
        names = List.copyOf(normalised);
    }

    /** One material, for the names its certificate covers. */
    public static SniCertificate of(KeyMaterial material) {
        return new SniCertificate(List.of(), List.of(material));
    }

    /** The names this entry answers for: the given ones, else every name of its certificates. */
    public List<String> effectiveNames() {
        if (!names.isEmpty()) {
            return names;
        }
        List<String> all = new ArrayList<>();
        for (KeyMaterial m : material) {
            for (String name : m.names()) {
                if (!all.contains(name)) {
                    all.add(name);
                }
            }
        }
        return List.copyOf(all);
    }
}
