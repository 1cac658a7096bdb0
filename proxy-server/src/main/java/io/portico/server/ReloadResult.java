package io.portico.server;

import java.util.List;

/**
 * What a reload did.
 *
 * @param ok         whether the new config is now serving
 * @param generation the config generation serving new connections afterwards
 * @param error      why it was refused (file, line and key when the file was at fault), or null
 * @param changes    what changed: listeners added, removed, rebound; groups rebuilt
 * @param warnings   settings that need a restart, options a transport cannot honour, and the like
 */
public record ReloadResult(boolean ok, long generation, String error, List<String> changes, List<String> warnings) {

    public ReloadResult {
        changes = List.copyOf(changes);
        warnings = List.copyOf(warnings);
    }

    static ReloadResult failed(long generation, String error) {
        return new ReloadResult(false, generation, error, List.of(), List.of());
    }
}
