package io.portico.server.route;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.portico.server.config.HeaderRulesConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Header edits compiled once: remove, then set, then add. Several configs (server, then route)
 * merge into one list so a request pays for one pass.
 */
public final class HeaderRules {

    public static final HeaderRules NONE = new HeaderRules(new AsciiString[0], new AsciiString[0], new String[0],
            new AsciiString[0], new String[0]);

    private final AsciiString[] remove;
    private final AsciiString[] setNames;
    private final String[] setValues;
    private final AsciiString[] addNames;
    private final String[] addValues;

    private HeaderRules(AsciiString[] remove, AsciiString[] setNames, String[] setValues,
                        AsciiString[] addNames, String[] addValues) {
        this.remove = remove;
        this.setNames = setNames;
        this.setValues = setValues;
        this.addNames = addNames;
        this.addValues = addValues;
    }

    /** Merges configs in order; a later set of the same name wins. */
    public static HeaderRules of(HeaderRulesConfig... configs) {
        List<AsciiString> remove = new ArrayList<>();
        List<AsciiString> setNames = new ArrayList<>();
        List<String> setValues = new ArrayList<>();
        List<AsciiString> addNames = new ArrayList<>();
        List<String> addValues = new ArrayList<>();
        for (HeaderRulesConfig c : configs) {
            for (String name : c.remove()) {
                remove.add(AsciiString.cached(name));
            }
            for (Map.Entry<String, String> e : c.set().entrySet()) {
                setNames.add(AsciiString.cached(e.getKey()));
                setValues.add(e.getValue());
            }
            for (Map.Entry<String, String> e : c.add().entrySet()) {
                addNames.add(AsciiString.cached(e.getKey()));
                addValues.add(e.getValue());
            }
        }
        if (remove.isEmpty() && setNames.isEmpty() && addNames.isEmpty()) {
            return NONE;
        }
        return new HeaderRules(remove.toArray(new AsciiString[0]), setNames.toArray(new AsciiString[0]),
                setValues.toArray(new String[0]), addNames.toArray(new AsciiString[0]), addValues.toArray(new String[0]));
    }

    public boolean isEmpty() {
        return this == NONE;
    }

    /** Whether any rule removes, sets or adds the field {@code name}. */
    public boolean touches(CharSequence name) {
        for (AsciiString[] names : new AsciiString[][] {remove, setNames, addNames}) {
            for (AsciiString n : names) {
                if (n.contentEqualsIgnoreCase(name)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The value the rules set for {@code name} (the last set wins), or null when they set none. */
    public String setValue(CharSequence name) {
        String value = null;
        for (int i = 0; i < setNames.length; i++) {
            if (setNames[i].contentEqualsIgnoreCase(name)) {
                value = setValues[i];
            }
        }
        return value;
    }

    public void apply(HttpHeaders headers) {
        for (AsciiString name : remove) {
            headers.remove(name);
        }
        for (int i = 0; i < setNames.length; i++) {
            headers.set(setNames[i], setValues[i]);
        }
        for (int i = 0; i < addNames.length; i++) {
            headers.add(addNames[i], addValues[i]);
        }
    }
}
