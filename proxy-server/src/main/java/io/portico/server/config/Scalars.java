package io.portico.server.config;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Converts the text of one YAML scalar to a config value type. Failures are
 * {@link IllegalArgumentException}s whose message is the reason shown to the user.
 */
final class Scalars {

    private static final Pattern DECIMAL = Pattern.compile("[-+]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][-+]?\\d+)?");
    private static final int LONGEST_NUMBER = 64;

    private Scalars() {
    }

    /** Whether {@link #convert} knows the type. */
    static boolean supports(Class<?> type) {
        return type == String.class || type == int.class || type == Integer.class || type == long.class
                || type == Long.class || type == double.class || type == Double.class || type == boolean.class
                || type == Boolean.class || type == Duration.class || type.isEnum() || parser(type) != null;
    }

    /** What a value of the type looks like, for "expected ..., got ..." messages. */
    static String expected(Class<?> type) {
        if (type == String.class) {
            return "a string";
        }
        if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
            return "an integer";
        }
        if (type == double.class || type == Double.class) {
            return "a number";
        }
        if (type == boolean.class || type == Boolean.class) {
            return "true or false";
        }
        if (type == Duration.class) {
            return "a duration such as 250ms, 5s, 10m, 2h or 1d";
        }
        if (type.isEnum()) {
            return "one of " + String.join(", ", enumNames(type));
        }
        if (type == ByteSize.class) {
            return "a size such as 512, 16k, 1m or 2g";
        }
        if (type == HostPort.class) {
            return "host:port";
        }
        return "a value";
    }

    static Object convert(String text, Class<?> type) {
        if (type == String.class) {
            return text;
        }
        if (type == int.class || type == Integer.class) {
            return (int) integer(text, Integer.MIN_VALUE, Integer.MAX_VALUE);
        }
        if (type == long.class || type == Long.class) {
            return integer(text, Long.MIN_VALUE, Long.MAX_VALUE);
        }
        if (type == double.class || type == Double.class) {
            return number(text);
        }
        if (type == boolean.class || type == Boolean.class) {
            return bool(text);
        }
        if (type == Duration.class) {
            return Durations.parse(text);
        }
        if (type.isEnum()) {
            return enumConstant(text, type);
        }
        Method parse = parser(type);
        if (parse == null) {
            throw new IllegalStateException("no conversion from YAML to " + type.getName());
        }
        return invoke(parse, text);
    }

    private static long integer(String text, long min, long max) {
        String s = text.trim().replace("_", "");
        if (s.length() > LONGEST_NUMBER || !DECIMAL.matcher(s).matches()) {
            throw new IllegalArgumentException("expected an integer, got '" + text + "'");
        }
        BigDecimal d = new BigDecimal(s);
        if (d.signum() != 0 && d.stripTrailingZeros().scale() > 0) {
            throw new IllegalArgumentException("expected an integer, got '" + text + "'");
        }
        long v;
        try {
            v = d.longValueExact();
        } catch (ArithmeticException e) {
            throw outOfRange(text, min, max);
        }
        if (v < min || v > max) {
            throw outOfRange(text, min, max);
        }
        return v;
    }

    private static IllegalArgumentException outOfRange(String text, long min, long max) {
        return new IllegalArgumentException("expected an integer from " + min + " to " + max + ", got '" + text + "'");
    }

    private static double number(String text) {
        String s = text.trim().replace("_", "");
        if (s.length() > LONGEST_NUMBER || !DECIMAL.matcher(s).matches()) {
            throw new IllegalArgumentException("expected a number, got '" + text + "'");
        }
        double v = Double.parseDouble(s);
        if (Double.isInfinite(v)) {
            throw new IllegalArgumentException("a number too large to use: '" + text + "'");
        }
        return v;
    }

    private static boolean bool(String text) {
        switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "true":
            case "on":
            case "yes":
                return true;
            case "false":
            case "off":
            case "no":
                return false;
            default:
                throw new IllegalArgumentException("expected true or false, got '" + text + "'");
        }
    }

    private static Object enumConstant(String text, Class<?> type) {
        String wanted = text.trim().replace('-', '_');
        for (Object constant : type.getEnumConstants()) {
            if (((Enum<?>) constant).name().equalsIgnoreCase(wanted)) {
                return constant;
            }
        }
        throw new IllegalArgumentException("expected one of " + String.join(", ", enumNames(type)) + ", got '" + text + "'");
    }

    private static List<String> enumNames(Class<?> type) {
        List<String> names = new ArrayList<>();
        for (Object constant : type.getEnumConstants()) {
            names.add(((Enum<?>) constant).name().toLowerCase(Locale.ROOT));
        }
        return names;
    }

    /** A {@code public static T parse(String)} on the type itself, as {@link ByteSize#parse}. */
    private static Method parser(Class<?> type) {
        try {
            Method m = type.getMethod("parse", String.class);
            int mods = m.getModifiers();
            return Modifier.isStatic(mods) && Modifier.isPublic(mods) && type.isAssignableFrom(m.getReturnType()) ? m : null;
        } catch (NoSuchMethodException e) {
            return null;
        }
    }

    private static Object invoke(Method parse, String text) {
        try {
            return parse.invoke(null, text);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IllegalArgumentException) {
                String message = cause.getMessage();
                throw new IllegalArgumentException(message != null ? message : "not a valid value: '" + text + "'", cause);
            }
            if (cause instanceof RuntimeException) {
                throw (RuntimeException) cause;
            }
            if (cause instanceof Error) {
                throw (Error) cause;
            }
            throw new IllegalStateException(cause);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot call " + parse, e);
        }
    }
}
