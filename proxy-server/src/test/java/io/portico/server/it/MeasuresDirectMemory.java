package io.portico.server.it;

import org.junit.jupiter.api.Tag;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A test that bounds Netty's pooled direct memory while a large body or stream passes. The
 * allocator's figure counts whole chunks, and how large and how many those are depends on every
 * allocation the JVM made before (a chunk grows towards 8 MiB after large reads elsewhere), so a
 * full suite's history could add a few chunks that this test never touched. Surefire runs these
 * tests in a JVM of their own per class (the {@code direct-memory} execution in
 * {@code proxy-server/pom.xml}), so the figure is this test's and nothing else's.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag(MeasuresDirectMemory.TAG)
public @interface MeasuresDirectMemory {
    String TAG = "direct-memory";
}
