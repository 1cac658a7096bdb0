package io.portico.server.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The value a config key takes when the file leaves it out, written as it would be in YAML
 * ({@code "4096"}, {@code "60s"}, {@code "16k"}, {@code "round_robin"}). It goes through the same
 * conversion and validation as a value from the file.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.RECORD_COMPONENT, ElementType.PARAMETER, ElementType.METHOD, ElementType.FIELD})
public @interface Default {
    String value();
}
