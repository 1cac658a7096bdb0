package io.portico.server.config;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Builds a config record from a composed YAML mapping by reflection, so the records stay the only
 * description of the schema.
 *
 * <p>A component {@code reusePort} is read from the key {@code reuse_port} unless {@link Key} names
 * another. A key left out takes its {@link Default} (converted as if it were written in the file),
 * or null when {@link Nullable}, an empty list or map, or a nested record built from no keys so its
 * own defaults apply; any other missing key is an error. Values may be strings, integers, numbers,
 * booleans (true/false, on/off, yes/no), durations, enums ({@code round_robin}), any type with a
 * {@code public static parse(String)}, lists, maps with string keys and nested records. YAML merge
 * keys ({@code <<: *anchor}) are honoured; duplicate and unknown keys are errors.
 *
 * <p>The first problem found, in file order, is thrown as a {@link ConfigException} naming the line
 * and the full key path, such as {@code upstreams.api.backends[0].weight}. An
 * {@link InvalidConfigException} from a record's constructor is placed at the line of the key it
 * names.
 */
public final class ConfigBinder {

    private final String fileName;

    /** {@code fileName} is only used in messages. */
    public ConfigBinder(String fileName) {
        this.fileName = Objects.requireNonNull(fileName, "fileName");
    }

    /** Binds {@code node} to a new {@code type}; the first problem found is thrown. */
    public <T extends Record> T bind(MappingNode node, Class<T> type) throws ConfigException {
        return type.cast(bindRecord(node, type, ""));
    }

    /** The YAML key a record component is read from. */
    static String keyOf(RecordComponent component) {
        Key key = component.getAnnotation(Key.class);
        return key != null ? key.value() : KeyNames.snakeCase(component.getName());
    }

    private Object bindRecord(MappingNode node, Class<?> type, String path) throws ConfigException {
        RecordComponent[] components = type.getRecordComponents();
        Map<String, Integer> slots = new LinkedHashMap<>();
        for (int i = 0; i < components.length; i++) {
            slots.put(keyOf(components[i]), i);
        }
        Object[] args = new Object[components.length];
        boolean[] given = new boolean[components.length];
        for (NodeTuple entry : entries(node, path)) {
            String key = ((ScalarNode) entry.getKeyNode()).getValue();
            Integer slot = slots.get(key);
            if (slot == null) {
                throw error(entry.getKeyNode(), child(path, key),
                        "unknown key '" + key + "'" + KeyNames.hint(key, slots.keySet()));
            }
            args[slot] = bindComponent(entry.getValueNode(), components[slot], child(path, key));
            given[slot] = true;
        }
        for (int i = 0; i < components.length; i++) {
            if (!given[i]) {
                args[i] = missing(node, components[i], child(path, keyOf(components[i])));
            }
        }
        return construct(node, type, components, args, path);
    }

    private Object bindComponent(Node value, RecordComponent component, String path) throws ConfigException {
        if (isNull(value)) {
            if (component.isAnnotationPresent(Nullable.class)) {
                return null;
            }
            Default fallback = component.getAnnotation(Default.class);
            throw error(value, path, "expected " + expected(component.getGenericType()) + ", got nothing"
                    + (fallback != null ? " (leave the key out for the default, '" + fallback.value() + "')" : ""));
        }
        return bindValue(value, component.getGenericType(), path);
    }

    private Object missing(MappingNode parent, RecordComponent component, String path) throws ConfigException {
        Default fallback = component.getAnnotation(Default.class);
        if (fallback != null) {
            ScalarNode text = new ScalarNode(Tag.STR, fallback.value(), parent.getStartMark(), parent.getEndMark(),
                    DumperOptions.ScalarStyle.PLAIN);
            return bindValue(text, component.getGenericType(), path);
        }
        if (component.isAnnotationPresent(Nullable.class)) {
            return null;
        }
        Class<?> raw = component.getType();
        if (raw == List.class) {
            return List.of();
        }
        if (raw == Map.class) {
            return Map.of();
        }
        if (isNested(raw)) {
            MappingNode empty = new MappingNode(Tag.MAP, true, new ArrayList<>(), parent.getStartMark(),
                    parent.getEndMark(), DumperOptions.FlowStyle.BLOCK);
            return bindRecord(empty, raw, path);
        }
        throw error(parent, path, "missing required key '" + keyOf(component) + "'");
    }

    private Object bindValue(Node node, Type type, String path) throws ConfigException {
        if (isNull(node)) {
            throw error(node, path, "expected " + expected(type) + ", got nothing");
        }
        if (type instanceof ParameterizedType) {
            ParameterizedType generic = (ParameterizedType) type;
            Type[] args = generic.getActualTypeArguments();
            if (generic.getRawType() == List.class) {
                return bindList(node, args[0], path);
            }
            if (generic.getRawType() == Map.class && args[0] == String.class) {
                return bindMap(node, args[1], path);
            }
        } else if (type instanceof Class<?>) {
            Class<?> cls = (Class<?>) type;
            if (Scalars.supports(cls)) {
                if (!(node instanceof ScalarNode)) {
                    throw error(node, path, "expected " + expected(cls) + ", got " + describe(node));
                }
                try {
                    return Scalars.convert(((ScalarNode) node).getValue(), cls);
                } catch (IllegalArgumentException e) {
                    throw error(node, path, e.getMessage());
                }
            }
            if (cls.isRecord()) {
                if (!(node instanceof MappingNode)) {
                    throw error(node, path, "expected a mapping of keys, got " + describe(node));
                }
                return bindRecord((MappingNode) node, cls, path);
            }
        }
        throw new IllegalStateException("config type " + type.getTypeName() + " at " + path + " is not supported");
    }

    private List<Object> bindList(Node node, Type elementType, String path) throws ConfigException {
        if (node instanceof SequenceNode) {
            List<Node> items = ((SequenceNode) node).getValue();
            List<Object> out = new ArrayList<>(items.size());
            for (int i = 0; i < items.size(); i++) {
                out.add(bindValue(items.get(i), elementType, path + "[" + i + "]"));
            }
            return Collections.unmodifiableList(out);
        }
        // "names: api.example.com" for a list of one is what people write; accept it.
        if (node instanceof ScalarNode && elementType instanceof Class<?> && Scalars.supports((Class<?>) elementType)) {
            return List.of(bindValue(node, elementType, path));
        }
        throw error(node, path, "expected a list, got " + describe(node));
    }

    private Map<String, Object> bindMap(Node node, Type valueType, String path) throws ConfigException {
        if (!(node instanceof MappingNode)) {
            throw error(node, path, "expected a mapping, got " + describe(node));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (NodeTuple entry : entries((MappingNode) node, path)) {
            String key = ((ScalarNode) entry.getKeyNode()).getValue();
            if (key.isEmpty()) {
                throw error(entry.getKeyNode(), path, "a key cannot be empty");
            }
            out.put(key, bindValue(entry.getValueNode(), valueType, child(path, key)));
        }
        return Collections.unmodifiableMap(out);
    }

    private Object construct(MappingNode node, Class<?> type, RecordComponent[] components, Object[] args, String path)
            throws ConfigException {
        Class<?>[] types = new Class<?>[components.length];
        for (int i = 0; i < components.length; i++) {
            types[i] = components[i].getType();
        }
        try {
            Constructor<?> canonical = type.getDeclaredConstructor(types);
            canonical.trySetAccessible();
            return canonical.newInstance(args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof InvalidConfigException) {
                String key = Objects.requireNonNullElse(((InvalidConfigException) cause).key(), "");
                throw new ConfigException(fileName, locate(node, key), join(path, key), reason(cause));
            }
            if (cause instanceof IllegalArgumentException || cause instanceof NullPointerException) {
                throw new ConfigException(fileName, line(node), path, reason(cause));
            }
            if (cause instanceof RuntimeException) {
                throw (RuntimeException) cause;
            }
            if (cause instanceof Error) {
                throw (Error) cause;
            }
            throw new IllegalStateException(cause);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot build " + type.getName(), e);
        }
    }

    /**
     * The line of the node a constructor's relative key names, such as {@code routes[2].upstream};
     * when part of the path is not in the file (it came from a default), the deepest part that is.
     */
    private int locate(MappingNode start, String relative) throws ConfigException {
        Node current = start;
        int line = line(start);
        String rest = relative;
        while (!rest.isEmpty()) {
            if (rest.charAt(0) == '[') {
                int close = rest.indexOf(']');
                if (close < 0 || !(current instanceof SequenceNode)) {
                    break;
                }
                List<Node> items = ((SequenceNode) current).getValue();
                int index;
                try {
                    index = Integer.parseInt(rest.substring(1, close));
                } catch (NumberFormatException e) {
                    break;
                }
                if (index < 0 || index >= items.size()) {
                    break;
                }
                current = items.get(index);
                line = line(current);
                rest = rest.substring(close + 1);
            } else {
                if (!(current instanceof MappingNode)) {
                    break;
                }
                // The longest key that starts the path wins, so map keys holding dots still resolve.
                NodeTuple found = null;
                int foundLength = -1;
                for (NodeTuple entry : entries((MappingNode) current, "")) {
                    String key = ((ScalarNode) entry.getKeyNode()).getValue();
                    if (key.length() > foundLength && rest.startsWith(key)
                            && (rest.length() == key.length() || rest.charAt(key.length()) == '.'
                                || rest.charAt(key.length()) == '[')) {
                        found = entry;
                        foundLength = key.length();
                    }
                }
                if (found == null) {
                    break;
                }
                current = found.getValueNode();
                line = line(found.getKeyNode());
                rest = rest.substring(foundLength);
            }
            if (rest.startsWith(".")) {
                rest = rest.substring(1);
            }
        }
        return line;
    }

    /**
     * The entries of a mapping with merge keys applied: keys written in the mapping win over merged
     * ones, and earlier merge sources over later ones. Every key is a non-null scalar afterwards.
     */
    private List<NodeTuple> entries(MappingNode node, String path) throws ConfigException {
        return entries(node, path, Collections.newSetFromMap(new IdentityHashMap<>()));
    }

    private List<NodeTuple> entries(MappingNode node, String path, Set<Node> merging) throws ConfigException {
        Map<String, NodeTuple> own = new LinkedHashMap<>();
        List<MappingNode> sources = new ArrayList<>();
        Node mergeKey = null;
        for (NodeTuple entry : node.getValue()) {
            Node keyNode = entry.getKeyNode();
            if (Tag.MERGE.equals(keyNode.getTag())) {
                if (mergeKey != null) {
                    throw error(keyNode, path, "duplicate key '<<' (first at line " + line(mergeKey) + ")");
                }
                mergeKey = keyNode;
                addMergeSources(entry.getValueNode(), path, sources);
                continue;
            }
            if (!(keyNode instanceof ScalarNode) || isNull(keyNode)) {
                throw error(keyNode, path, "a key must be a plain name, got " + describe(keyNode));
            }
            String key = ((ScalarNode) keyNode).getValue();
            NodeTuple first = own.putIfAbsent(key, entry);
            if (first != null) {
                throw error(keyNode, child(path, key),
                        "duplicate key '" + key + "' (first at line " + line(first.getKeyNode()) + ")");
            }
        }
        if (sources.isEmpty()) {
            return new ArrayList<>(own.values());
        }
        if (!merging.add(node)) {
            throw error(node, path, "a merge (<<) includes the mapping it is in");
        }
        Map<String, NodeTuple> all = new LinkedHashMap<>(own);
        for (MappingNode source : sources) {
            for (NodeTuple entry : entries(source, path, merging)) {
                all.putIfAbsent(((ScalarNode) entry.getKeyNode()).getValue(), entry);
            }
        }
        merging.remove(node);
        return new ArrayList<>(all.values());
    }

    private void addMergeSources(Node value, String path, List<MappingNode> sources) throws ConfigException {
        if (value instanceof MappingNode) {
            sources.add((MappingNode) value);
            return;
        }
        if (value instanceof SequenceNode) {
            for (Node item : ((SequenceNode) value).getValue()) {
                if (!(item instanceof MappingNode)) {
                    throw error(item, path, "a merge (<<) takes a mapping or a list of mappings, got " + describe(item));
                }
                sources.add((MappingNode) item);
            }
            return;
        }
        throw error(value, path, "a merge (<<) takes a mapping or a list of mappings, got " + describe(value));
    }

    private static String expected(Type type) {
        if (type instanceof ParameterizedType) {
            Type raw = ((ParameterizedType) type).getRawType();
            return raw == List.class ? "a list" : "a mapping";
        }
        Class<?> cls = (Class<?>) type;
        return isNested(cls) ? "a mapping of keys" : Scalars.expected(cls);
    }

    /** A record read from a mapping of its own keys; records with a parse method, as HostPort, are scalars. */
    static boolean isNested(Class<?> type) {
        return type.isRecord() && !Scalars.supports(type);
    }

    private static String describe(Node node) {
        if (isNull(node)) {
            return "nothing";
        }
        if (node instanceof ScalarNode) {
            return "'" + ((ScalarNode) node).getValue() + "'";
        }
        return node instanceof SequenceNode ? "a list" : "a mapping";
    }

    private static String reason(Throwable t) {
        String message = t.getMessage();
        return message != null && !message.isEmpty() ? message : "not valid (" + t.getClass().getSimpleName() + ")";
    }

    private static boolean isNull(Node node) {
        return node instanceof ScalarNode && Tag.NULL.equals(node.getTag());
    }

    private static String child(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private static String join(String path, String relative) {
        if (relative.isEmpty()) {
            return path;
        }
        return relative.startsWith("[") ? path + relative : child(path, relative);
    }

    private static int line(Node node) {
        return node.getStartMark() == null ? 1 : node.getStartMark().getLine() + 1;
    }

    private ConfigException error(Node at, String path, String reason) {
        return new ConfigException(fileName, line(at), path, reason);
    }
}
