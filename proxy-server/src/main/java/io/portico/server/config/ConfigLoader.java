package io.portico.server.config;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Reads {@code conf/portico.yaml} into a {@link PorticoConfig}. The YAML is only composed into
 * nodes, never constructed into objects, so tags in the file cannot instantiate anything, and every
 * value keeps its line for messages. Any problem is one {@link ConfigException}, the first found.
 */
public final class ConfigLoader {

    /**
     * Aliases to mappings and lists a file may use. A config needs few; a low limit keeps a
     * "billion laughs" file from expanding into a huge tree.
     */
    private static final int MAX_COLLECTION_ALIASES = 32;
    private static final int MAX_NESTING = 40;
    private static final int MAX_CODE_POINTS = 4 * 1024 * 1024;

    private ConfigLoader() {
    }

    /**
     * Reads {@code file} as UTF-8 and builds the config. A file that cannot be read is a
     * {@link ConfigException} at line 0 giving the reason.
     */
    public static PorticoConfig load(Path file) throws ConfigException {
        String name = file.toString();
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(name, 0, "", "cannot read the file: " + reason(e));
        }
        return parse(name, text);
    }

    /** Builds the config from YAML text; {@code fileName} is only used in messages. */
    public static PorticoConfig parse(String fileName, String yamlText) throws ConfigException {
        return parse(fileName, yamlText, PorticoConfig.class);
    }

    /** Builds any config record from YAML text, for parts of the config on their own. */
    static <T extends Record> T parse(String fileName, String yamlText, Class<T> type) throws ConfigException {
        return new ConfigBinder(fileName).bind(compose(fileName, yamlText), type);
    }

    private static MappingNode compose(String fileName, String yamlText) throws ConfigException {
        Node root;
        try {
            root = new Yaml(options()).compose(new StringReader(yamlText));
        } catch (MarkedYAMLException e) {
            throw new ConfigException(fileName, line(e.getProblemMark()), "", reason(e));
        } catch (YAMLException e) {
            throw new ConfigException(fileName, 0, "", e.getMessage());
        }
        if (root == null) {
            // An empty file is a config with no keys; the records then say what is missing.
            Mark start = new Mark(fileName, 0, 0, 0, new int[0], 0);
            return new MappingNode(Tag.MAP, true, new ArrayList<>(), start, start, DumperOptions.FlowStyle.BLOCK);
        }
        if (!(root instanceof MappingNode)) {
            throw new ConfigException(fileName, line(root.getStartMark()), "",
                    "the file must be a mapping of keys such as listeners:, upstreams: and servers:, got "
                            + (root instanceof SequenceNode ? "a list" : "a single value"));
        }
        return (MappingNode) root;
    }

    private static LoaderOptions options() {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setMaxAliasesForCollections(MAX_COLLECTION_ALIASES);
        options.setAllowRecursiveKeys(false);
        options.setNestingDepthLimit(MAX_NESTING);
        options.setCodePointLimit(MAX_CODE_POINTS);
        options.setProcessComments(false);
        return options;
    }

    private static String reason(MarkedYAMLException e) {
        String problem = e.getProblem();
        String context = e.getContext();
        if (context == null || context.isEmpty()) {
            return problem;
        }
        Mark where = e.getContextMark();
        return context + (where != null ? " (line " + line(where) + ")" : "") + ": " + problem;
    }

    private static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof CharacterCodingException) {
            return "it is not valid UTF-8";
        }
        if (e instanceof FileSystemException && ((FileSystemException) e).getReason() != null) {
            return ((FileSystemException) e).getReason();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private static int line(Mark mark) {
        return mark == null ? 0 : mark.getLine() + 1;
    }
}
