/**
 * JMH microbenchmarks of Portico's hot pieces (header handling, path normalisation, routing,
 * consistent hashing, cache policy). They are compiled by every build so they cannot rot; run them
 * with {@code bin/microbench [JMH options]}. Throughput is reported per operation; what an operation
 * is, and what it stands for on the request path, is in each class's javadoc.
 */
package io.portico.bench;
